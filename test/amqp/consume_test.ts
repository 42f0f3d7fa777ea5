import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConnect,
  bodies,
  clientCloseQuietly,
  clientConnect,
  clientRejects,
  closeQuietly,
  rejectsWithCode,
  uniq,
  waitForDepth,
  within,
} from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

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

/** Publishes bodies to a queue through a confirm channel, so they are enqueued on return. */
async function publishAll(queue: string, messages: string[]): Promise<void> {
  const ch = await conn.createConfirmChannel()
  for (const m of messages) ch.sendToQueue(queue, Buffer.from(m))
  await ch.waitForConfirms()
  await ch.close()
}

describe('basic.consume', () => {
  test('basic.consume with an empty tag gets a server-generated amq.ctag- tag', async () => {
    const q = uniq('ctag')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const { consumerTag } = await ch.consume(q, () => {})
    expect(consumerTag).toMatch(/^amq\.ctag-.+/)
    await ch.close()
  })

  test('basic.consume of a missing queue is refused with 404 NOT_FOUND', async () => {
    const q = uniq('missing')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.consume(q, () => {}), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('basic.deliver carries exchange, routing key, consumer tag and increasing delivery tags', async () => {
    const q = uniq('deliver-fields')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.bindQueue(q, 'amq.direct', q)
    const got: ConsumeMessage[] = []
    const { consumerTag } = await ch.consume(q, (m) => m && got.push(m), { consumerTag: 'my-tag' })
    expect(consumerTag).toBe('my-tag')
    ch.publish('amq.direct', q, Buffer.from('a'))
    ch.publish('amq.direct', q, Buffer.from('b'))
    await waitFor(() => got.length === 2)
    expect(got.map((m) => m.fields.exchange)).toEqual(['amq.direct', 'amq.direct'])
    expect(got.map((m) => m.fields.routingKey)).toEqual([q, q])
    expect(got.map((m) => m.fields.consumerTag)).toEqual(['my-tag', 'my-tag'])
    expect(got.map((m) => m.fields.deliveryTag)).toEqual([1, 2])
    expect(got.map((m) => m.fields.redelivered)).toEqual([false, false])
    ch.ackAll()
    await ch.close()
  })

  test('consumers on one queue get messages round-robin', async () => {
    const q = uniq('round-robin')
    const { ch: a } = await amqplibChannel(conn)
    const { ch: b } = await amqplibChannel(conn)
    await a.assertQueue(q, { exclusive: true })
    const gotA: string[] = []
    const gotB: string[] = []
    await a.consume(q, (m) => m && gotA.push(m.content.toString()), { noAck: true })
    await b.consume(q, (m) => m && gotB.push(m.content.toString()), { noAck: true })
    await publishAll(q, ['0', '1', '2', '3', '4', '5'])
    await waitFor(() => gotA.length + gotB.length === 6)
    expect(gotA.length).toBe(3)
    expect(gotB.length).toBe(3)
    expect([...gotA, ...gotB].sort()).toEqual(['0', '1', '2', '3', '4', '5'])
    // Each consumer sees its share in queue order.
    expect([...gotA].sort()).toEqual(gotA)
    expect([...gotB].sort()).toEqual(gotB)
    await a.close()
    await b.close()
  })

  test('consumers with a higher x-priority get messages first while they have credit', async () => {
    const q = uniq('consumer-priority')
    const { ch: high } = await amqplibChannel(conn)
    const { ch: low } = await amqplibChannel(conn)
    await high.assertQueue(q, { exclusive: true })
    await high.prefetch(2)
    const gotHigh: string[] = []
    const gotLow: string[] = []
    await low.consume(q, (m) => m && gotLow.push(m.content.toString()), { noAck: true, priority: 0 })
    await high.consume(q, (m) => m && gotHigh.push(m.content.toString()), { priority: 10 })
    await publishAll(q, ['0', '1', '2', '3', '4'])
    await waitFor(() => gotHigh.length + gotLow.length === 5)
    // The high-priority consumer is full after two unacked messages; the rest spill to low.
    expect(gotHigh).toEqual(['0', '1'])
    expect(gotLow).toEqual(['2', '3', '4'])
    await high.close()
    await low.close()
  })

  test('consumer priority given as x-priority argument (amqp-client)', async () => {
    const q = uniq('consumer-priority-client')
    const client = await clientConnect(broker.amqpUrl)
    try {
      const chLow = await client.channel()
      const chHigh = await client.channel()
      await chLow.queueDeclare(q, { exclusive: true })
      const gotHigh: string[] = []
      const gotLow: string[] = []
      await chLow.basicConsume(q, { noAck: true, args: { 'x-priority': 1 } }, (m: AMQPMessage) => {
        gotLow.push(m.bodyString() ?? '')
      })
      await chHigh.basicConsume(q, { noAck: true, args: { 'x-priority': 5 } }, (m: AMQPMessage) => {
        gotHigh.push(m.bodyString() ?? '')
      })
      await publishAll(q, ['a', 'b', 'c'])
      await waitFor(() => gotHigh.length + gotLow.length === 3)
      expect(gotHigh).toEqual(['a', 'b', 'c'])
      expect(gotLow).toEqual([])
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('single-active-consumer queue delivers only to the first consumer until it cancels', async () => {
    const q = uniq('sac')
    const { ch: first } = await amqplibChannel(conn)
    const { ch: second } = await amqplibChannel(conn)
    await first.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } })
    const gotFirst: string[] = []
    const gotSecond: string[] = []
    const { consumerTag } = await first.consume(q, (m) => m && gotFirst.push(m.content.toString()), { noAck: true })
    await second.consume(q, (m) => m && gotSecond.push(m.content.toString()), { noAck: true })
    await publishAll(q, ['1', '2', '3', '4'])
    await waitFor(() => gotFirst.length === 4)
    expect(gotSecond).toEqual([])
    await first.cancel(consumerTag)
    await publishAll(q, ['5', '6'])
    await waitFor(() => gotSecond.length === 2)
    expect(gotSecond).toEqual(['5', '6'])
    expect(gotFirst).toEqual(['1', '2', '3', '4'])
    await first.close()
    await second.close()
  })

  test('single-active-consumer hands unacked messages to the next consumer in order', async () => {
    const q = uniq('sac-unacked')
    const { ch: first } = await amqplibChannel(conn)
    const { ch: second } = await amqplibChannel(conn)
    await first.assertQueue(q, { exclusive: true, arguments: { 'x-single-active-consumer': true } })
    const gotFirst: ConsumeMessage[] = []
    const gotSecond: ConsumeMessage[] = []
    await first.consume(q, (m) => m && gotFirst.push(m))
    await second.consume(q, (m) => m && gotSecond.push(m))
    await publishAll(q, ['1', '2', '3'])
    await waitFor(() => gotFirst.length === 3)
    await first.close()
    await waitFor(() => gotSecond.length === 3)
    expect(bodies(gotSecond)).toEqual(['1', '2', '3'])
    expect(gotSecond.map((m) => m.fields.redelivered)).toEqual([true, true, true])
    second.ackAll()
    await second.close()
  })

  test('basic.consume exclusive refuses a second consumer with 403 ACCESS_REFUSED', async () => {
    const q = uniq('exclusive-consume')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.consume(q, () => {}, { exclusive: true })
    const { ch: other } = await amqplibChannel(conn)
    await rejectsWithCode(other.consume(q, () => {}), 403, `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`)
    await ch.close()
  })

  test('basic.consume exclusive on a queue that has consumers is refused with 403 ACCESS_REFUSED', async () => {
    const q = uniq('exclusive-late')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.consume(q, () => {})
    const { ch: other } = await amqplibChannel(conn)
    await rejectsWithCode(other.consume(q, () => {}, { exclusive: true }), 403, `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`)
    await ch.close()
  })

  test('basic.consume with a consumer tag already used on the channel closes the connection with 530 NOT_ALLOWED', async () => {
    const own = await amqplibConnect(broker.amqpUrl)
    const { ch } = await amqplibChannel(own.conn)
    const q = uniq('tag-reuse')
    await ch.assertQueue(q, { exclusive: true })
    await ch.consume(q, () => {}, { consumerTag: 'dup' })
    ch.consume(q, () => {}, { consumerTag: 'dup' }).catch(() => {})
    const error = await within(own.watch.closed, 3000, 'connection close')
    expect(error?.code).toBe(530)
    expect(error?.message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'dup'")
  })

  test('basic.consume with a consumer tag already used closes the connection with 530 (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    const errors: Error[] = []
    client.onerror = (e) => errors.push(e)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare('', { exclusive: true })
      await ch.basicConsume(q.name, { tag: 'dup' }, () => {})
      await clientRejects(ch.basicConsume(q.name, { tag: 'dup' }, () => {}), 530, "NOT_ALLOWED - attempt to reuse consumer tag 'dup'")
      await waitFor(() => client.closed || errors.length > 0)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('the same consumer tag on two channels is allowed', async () => {
    const q = uniq('tag-two-channels')
    const { ch: a } = await amqplibChannel(conn)
    const { ch: b } = await amqplibChannel(conn)
    await a.assertQueue(q, { exclusive: true })
    await a.consume(q, () => {}, { consumerTag: 'shared' })
    await b.consume(q, () => {}, { consumerTag: 'shared' })
    expect((await a.checkQueue(q)).consumerCount).toBe(2)
    await a.close()
    await b.close()
  })
})

describe('basic.cancel', () => {
  test('basic.cancel stops deliveries to that consumer', async () => {
    const q = uniq('cancel')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const got: string[] = []
    const { consumerTag } = await ch.consume(q, (m) => m && got.push(m.content.toString()), { noAck: true })
    await publishAll(q, ['before'])
    await waitFor(() => got.length === 1)
    const reply = await ch.cancel(consumerTag)
    expect(reply.consumerTag).toBe(consumerTag)
    await publishAll(q, ['after'])
    await waitForDepth(ch, q, 1)
    expect(got).toEqual(['before'])
    await ch.close()
  })

  test('basic.cancel leaves the consumer\'s unacked messages with the channel until acked', async () => {
    const q = uniq('cancel-unacked')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const got: ConsumeMessage[] = []
    const { consumerTag } = await ch.consume(q, (m) => m && got.push(m))
    await publishAll(q, ['a', 'b'])
    await waitFor(() => got.length === 2)
    await ch.cancel(consumerTag)
    // Not requeued by the cancel: the queue stays empty, and the old tags can still be acked.
    expect((await ch.checkQueue(q)).messageCount).toBe(0)
    ch.ack(got[1]!, true)
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    expect((await check.checkQueue(q)).messageCount).toBe(0)
    await check.close()
  })

  test('basic.cancel of an unknown consumer tag is answered with cancel-ok', async () => {
    const { ch } = await amqplibChannel(conn)
    const reply = await ch.cancel('no-such-consumer')
    expect(reply.consumerTag).toBe('no-such-consumer')
    await ch.close()
  })

  test('queue.delete notifies consumers with basic.cancel (amqplib callback gets null)', async () => {
    const q = uniq('cancel-notify')
    const { ch, watch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const cancelled = new Promise<null>((resolve) => {
      void ch.consume(q, (m) => {
        if (m === null) resolve(null)
      })
    })
    const { ch: other } = await amqplibChannel(conn)
    await other.deleteQueue(q)
    expect(await within(cancelled, 3000, 'the null delivery')).toBeNull()
    // The channel stays usable after a server-side cancel.
    await ch.assertQueue(uniq('still-open'), { exclusive: true })
    expect(watch.isClosed()).toBe(false)
    await other.close()
    await ch.close()
  })

  test('queue.delete notifies consumers with basic.cancel (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare(uniq('cancel-notify-client'), { exclusive: true })
      const consumer = await ch.basicConsume(q.name, { noAck: true }, () => {})
      const waited = consumer.wait(3000).then(
        () => 'resolved',
        (e: Error) => e.message,
      )
      const other = await client.channel()
      await other.queueDelete(q.name)
      expect(await waited).toContain('Consumer cancelled by the server')
      expect(ch.closed).toBe(false)
      await ch.queueDeclare('', { exclusive: true })
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
