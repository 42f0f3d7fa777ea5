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
  within,
} from '../helpers/amqp.ts'

// How errors reach clients: channel errors close one channel (amqplib: 'error' event plus a
// rejected operation with .code; amqp-client: AMQPError "channel N closed: TEXT (CODE)"),
// connection errors close everything.
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

describe('channel errors', () => {
  test('a channel error rejects the operation, emits error and close, and spares other channels (amqplib)', async () => {
    const { ch: bad, watch } = await amqplibChannel(conn)
    const { ch: good, watch: goodWatch } = await amqplibChannel(conn)
    const q = uniq('missing')
    const error = await rejectsWithCode(bad.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
    expect(error.classId).toBe(50)
    expect(error.methodId).toBe(10)
    await within(watch.closed, 3000, 'channel close')
    expect(watch.errors).toHaveLength(1)
    expect(watch.errors[0]!.code).toBe(404)
    // Other channels and the connection carry on.
    await good.assertQueue('', { exclusive: true })
    expect(goodWatch.isClosed()).toBe(false)
    const { ch: fresh } = await amqplibChannel(conn)
    await fresh.assertQueue('', { exclusive: true })
    await fresh.close()
    await good.close()
  })

  test('operations queued behind a failing one are rejected too (amqplib)', async () => {
    const { ch } = await amqplibChannel(conn)
    const q = uniq('missing')
    const first = ch.checkQueue(q)
    const second = ch.assertQueue(uniq('never'), { exclusive: true })
    await rejectsWithCode(first, 404)
    const outcome = await second.then(
      () => 'resolved',
      () => 'rejected',
    )
    expect(outcome).toBe('rejected')
  })

  test('a channel error reaches amqp-client and the channel id can be opened again', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const id = ch.id
      const q = uniq('missing')
      const error = await clientRejects(ch.queueDeclare(q, { passive: true }), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
      expect(error.message).toBe(`channel ${id} closed: NOT_FOUND - no queue '${q}' in vhost '/' (404)`)
      expect(ch.closed).toBe(true)
      const again = await client.channel(id)
      await again.queueDeclare('', { exclusive: true })
      expect(client.closed).toBe(false)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('exchange.declare of the default exchange is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.assertExchange('', 'direct'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange')
  })

  test('exchange.delete of the default exchange is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.deleteExchange(''), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange')
  })

  test('queue.declare with an argument of the wrong type is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('bad-arg-type')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-max-length': 'ten' } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/'`,
    )
  })

  test('queue.declare with x-dead-letter-routing-key but no x-dead-letter-exchange is refused with 406', async () => {
    const q = uniq('dlrk-only')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-dead-letter-routing-key': 'k' } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '${q}' in vhost '/'`,
    )
  })
})

describe('connection errors', () => {
  test('exchange.declare of an unknown type is refused with 406 PRECONDITION_FAILED (channel only)', async () => {
    // Older RabbitMQ used 503 COMMAND_INVALID (a connection error); current RabbitMQ uses 406.
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.assertExchange(uniq('x'), 'x-no-such-type'), 406, "PRECONDITION_FAILED - unknown exchange type 'x-no-such-type'")
    const { ch: again } = await amqplibChannel(conn)
    await again.close()
  })

  test('exchange.declare of type "none" says "invalid exchange type" (amqp-client.js suite)', async () => {
    // RabbitMQ: an existing Erlang atom without an exchange module is "invalid", not "unknown".
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await clientRejects(ch.exchangeDeclare(uniq('x'), 'none'), 406, "PRECONDITION_FAILED - invalid exchange type 'none'")
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('a connection error closes every channel of the connection (amqplib)', async () => {
    const own = await amqplibConnect(broker.amqpUrl)
    const { ch, watch } = await amqplibChannel(own.conn)
    const { watch: otherWatch } = await amqplibChannel(own.conn)
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.consume(queue, () => {}, { consumerTag: 'twice' })
    ch.consume(queue, () => {}, { consumerTag: 'twice' }).catch(() => {})
    const error = await within(own.watch.closed, 3000, 'connection close')
    expect(error?.code).toBe(530)
    expect(error?.message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'twice'")
    await within(watch.closed, 3000, 'channel close')
    await within(otherWatch.closed, 3000, 'other channel close')
  })

  test('a connection error reaches amqp-client as onerror and rejects pending calls', async () => {
    const client = await clientConnect(broker.amqpUrl)
    const errors: Error[] = []
    client.onerror = (e) => errors.push(e)
    try {
      const ch = await client.channel()
      const other = await client.channel()
      await clientRejects(ch.basicQos(1, 1024), 540, 'NOT_IMPLEMENTED - prefetch_size!=0 (1024)')
      expect(errors.length).toBeGreaterThanOrEqual(1)
      expect(errors[0]!.message).toContain('(540)')
      expect(client.closed).toBe(true)
      expect(other.closed).toBe(true)
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
