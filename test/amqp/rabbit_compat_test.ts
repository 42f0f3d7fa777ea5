import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConnect,
  clientCloseQuietly,
  clientConnect,
  clientRejects,
  closeQuietly,
  rejectsWithCode,
  uniq,
  waitForDepth,
  within,
} from '../helpers/amqp.ts'

// Gaps a differential run against RabbitMQ 3.10.8 found: empty exchange types, unbind of
// missing entities, the predeclared amq.rabbitmq.trace exchange.
let broker: TestBroker
let conn: ChannelModel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

describe('exchange.declare with a type that does not exist (RabbitMQ 4.x: a channel error)', () => {
  test('an empty type is an "invalid exchange type" (the empty Erlang atom exists)', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.assertExchange(uniq('x'), ''), 406, "PRECONDITION_FAILED - invalid exchange type ''")
  })

  test('a passive declare does not look at the type', async () => {
    const { ch } = await amqplibChannel(conn)
    await ch.checkExchange('amq.direct')
    await ch.close()
  })
})

describe('unbind of what does not exist succeeds (rabbit_binding:remove/3)', () => {
  test('queue.unbind: missing queue, missing exchange, missing binding are all unbind-ok', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.unbindQueue(uniq('no-queue'), 'amq.direct', 'k')
    await ch.unbindQueue(queue, uniq('no-exchange'), 'k')
    await ch.unbindQueue(uniq('no-queue'), uniq('no-exchange'), 'k')
    await ch.unbindQueue(queue, 'amq.direct', 'never-bound')
    expect(watch.errors).toEqual([])
    await ch.close()
  })

  test('exchange.unbind: missing source or destination is unbind-ok', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    const x = uniq('src')
    await ch.assertExchange(x, 'direct', { autoDelete: true })
    await ch.unbindExchange(uniq('no-dest'), x, 'k')
    await ch.unbindExchange('amq.direct', uniq('no-src'), 'k')
    await ch.unbindExchange(x, 'amq.direct', 'never-bound')
    expect(watch.errors).toEqual([])
    await ch.close()
  })

  test('an existing binding is still removed', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('ux')
    await ch.assertExchange(x, 'direct')
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(queue, x, 'k')
    ch.publish(x, 'k', Buffer.from('1'))
    await waitForDepth(ch, queue, 1)
    await ch.unbindQueue(queue, x, 'k')
    ch.publish(x, 'k', Buffer.from('2'))
    // A marker through the default exchange follows the second publish: it comes right after '1'.
    ch.sendToQueue(queue, Buffer.from('marker'))
    await waitForDepth(ch, queue, 2)
    const bodies: string[] = []
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(queue, { noAck: true })
      if (m !== false) bodies.push(m.content.toString())
    }
    expect(bodies).toEqual(['1', 'marker'])
    await ch.deleteExchange(x)
    await ch.close()
  })

  test('the default exchange is still refused (403), before any lookup', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.unbindQueue(uniq('no-queue'), '', 'k'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange')
  })

  test("another connection's exclusive queue: no binding to remove, so no lock error", async () => {
    const { ch } = await amqplibChannel(conn)
    const { queue } = await ch.assertQueue('', { exclusive: true })
    const other = await amqplibConnect(broker.amqpUrl)
    try {
      const { ch: foreign } = await amqplibChannel(other.conn)
      await foreign.unbindQueue(queue, 'amq.direct', 'k')
      await ch.bindQueue(queue, 'amq.direct', 'k')
      await rejectsWithCode(foreign.unbindQueue(queue, 'amq.direct', 'k'), 405, 'RESOURCE_LOCKED')
    } finally {
      await closeQuietly(other.conn)
    }
    await ch.close()
  })
})

describe('amq.rabbitmq.trace', () => {
  test('is predeclared: topic, durable, internal', async () => {
    const { ch } = await amqplibChannel(conn)
    await ch.checkExchange('amq.rabbitmq.trace')
    // An equivalent redeclare succeeds; any other flag is a 406.
    await ch.assertExchange('amq.rabbitmq.trace', 'topic', { durable: true, internal: true })
    await rejectsWithCode(ch.assertExchange('amq.rabbitmq.trace', 'topic', { durable: true }), 406, "inequivalent arg 'internal'")
  })

  test('cannot be published to (internal) nor deleted (system)', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    ch.publish('amq.rabbitmq.trace', 'publish.x', Buffer.from('x'))
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(403)
    expect(error?.message).toContain("ACCESS_REFUSED - cannot publish to internal exchange 'amq.rabbitmq.trace' in vhost '/'")
    const { ch: again } = await amqplibChannel(conn)
    await rejectsWithCode(again.deleteExchange('amq.rabbitmq.trace'), 403, "deletion of system exchange 'amq.rabbitmq.trace' in vhost '/' not allowed")
  })

  test('queues can be bound to it (the firehose tap)', async () => {
    const { ch } = await amqplibChannel(conn)
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(queue, 'amq.rabbitmq.trace', '#')
    await ch.unbindQueue(queue, 'amq.rabbitmq.trace', '#')
    await ch.close()
  })
})
