import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage, GetMessage } from 'amqplib'
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
  consumeN,
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

async function fill(queue: string, messages: string[]): Promise<void> {
  const ch = await conn.createConfirmChannel()
  for (const m of messages) ch.sendToQueue(queue, Buffer.from(m))
  await ch.waitForConfirms()
  await ch.close()
}

async function newQueue(prefix: string, args?: Record<string, unknown>): Promise<string> {
  const q = uniq(prefix)
  const ch = await conn.createChannel()
  await ch.assertQueue(q, { durable: false, arguments: args })
  await ch.close()
  return q
}

/** Starts a consumer that records every delivery without acking. */
async function recorder(ch: import('amqplib').Channel, queue: string): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = []
  await ch.consume(queue, (m) => m && got.push(m))
  return got
}

describe('basic.ack', () => {
  test('basic.ack removes the message for good', async () => {
    const q = await newQueue('ack')
    await fill(q, ['a', 'b'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 2)
    ch.ack(got[0]!)
    ch.ack(got[1]!)
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 0)
    await check.close()
  })

  test('basic.ack multiple settles every delivery up to the tag', async () => {
    const q = await newQueue('ack-multiple')
    await fill(q, ['a', 'b', 'c', 'd'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 4)
    ch.ack(got[2]!, true)
    // Closing requeues whatever is still unacked: only d.
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 1)
    const rest = await consumeN(check, q, 1, { noAck: true })
    expect(bodies(rest)).toEqual(['d'])
    await check.close()
  })

  test('basic.ack multiple with tag 0 settles everything outstanding', async () => {
    const q = await newQueue('ack-all')
    await fill(q, ['a', 'b', 'c'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 3)
    ch.ackAll()
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 0)
    await check.close()
  })

  test('basic.ack of an unknown delivery tag closes the channel with 406 PRECONDITION_FAILED', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    ch.ack({ fields: { deliveryTag: 99 } } as unknown as ConsumeMessage)
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain('PRECONDITION_FAILED - unknown delivery tag 99')
  })

  test('basic.ack twice for the same delivery closes the channel with 406 PRECONDITION_FAILED', async () => {
    const q = await newQueue('double-ack')
    await fill(q, ['a'])
    const { ch, watch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 1)
    ch.ack(got[0]!)
    ch.ack(got[0]!)
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain('PRECONDITION_FAILED - unknown delivery tag 1')
  })

  test('basic.ack of a no-ack delivery closes the channel with 406 PRECONDITION_FAILED', async () => {
    const q = await newQueue('ack-noack')
    await fill(q, ['a'])
    const { ch, watch } = await amqplibChannel(conn)
    const got: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && got.push(m), { noAck: true })
    await waitFor(() => got.length === 1)
    ch.ack(got[0]!)
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain('PRECONDITION_FAILED - unknown delivery tag 1')
  })

  test('basic.ack of an unknown delivery tag closes the channel with 406 (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await ch.basicAck(7)
      // basic.ack has no reply: the next synchronous call sees the channel close.
      await clientRejects(ch.queueDeclare('', { exclusive: true }), 406, 'PRECONDITION_FAILED - unknown delivery tag 7')
    } finally {
      await clientCloseQuietly(client)
    }
  })
})

describe('basic.nack and basic.reject', () => {
  test('basic.reject requeue=true returns the message with redelivered set', async () => {
    const q = await newQueue('reject-requeue')
    await fill(q, ['a'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 1)
    expect(got[0]!.fields.redelivered).toBe(false)
    ch.reject(got[0]!, true)
    await waitFor(() => got.length === 2)
    expect(got[1]!.content.toString()).toBe('a')
    expect(got[1]!.fields.redelivered).toBe(true)
    expect(got[1]!.fields.deliveryTag).toBe(2)
    ch.ack(got[1]!)
    await ch.close()
  })

  test('basic.reject requeue=false discards the message', async () => {
    const q = await newQueue('reject-discard')
    await fill(q, ['a', 'b'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 2)
    ch.reject(got[0]!, false)
    ch.nack(got[1]!, false, false)
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 0)
    await check.close()
  })

  test('basic.nack requeue keeps the original queue order', async () => {
    const q = await newQueue('requeue-order')
    await fill(q, ['m1', 'm2', 'm3', 'm4'])
    const { ch: first } = await amqplibChannel(conn)
    const got: ConsumeMessage[] = []
    const { consumerTag } = await first.consume(q, (m) => m && got.push(m))
    await waitFor(() => got.length === 4)
    // Cancel so requeued messages do not come straight back to this consumer; they stay unacked.
    await first.cancel(consumerTag)
    // Requeue in reverse order; the queue must still hand them out as m1, m3.
    first.nack(got[2]!, false, true)
    first.nack(got[0]!, false, true)
    await fill(q, ['m5'])
    const { ch: second } = await amqplibChannel(conn)
    const again = await consumeN(second, q, 3, { ack: true })
    expect(bodies(again)).toEqual(['m1', 'm3', 'm5'])
    expect(again.map((m) => m.fields.redelivered)).toEqual([true, true, false])
    first.ack(got[1]!)
    first.ack(got[3]!)
    await first.close()
    await waitForDepth(second, q, 0)
    await second.close()
  })

  test('basic.nack multiple requeues every delivery up to the tag in original order', async () => {
    const q = await newQueue('nack-multiple')
    await fill(q, ['a', 'b', 'c', 'd'])
    const { ch } = await amqplibChannel(conn)
    await ch.prefetch(4)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 4)
    ch.nack(got[2]!, true, true)
    await waitFor(() => got.length === 7)
    expect(bodies(got.slice(4))).toEqual(['a', 'b', 'c'])
    expect(got.slice(4).map((m) => m.fields.redelivered)).toEqual([true, true, true])
    ch.ackAll()
    await ch.close()
  })

  test('basic.nack and basic.reject through amqp-client', async () => {
    const q = await newQueue('client-nack')
    await fill(q, ['x', 'y'])
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const got: AMQPMessage[] = []
      await ch.basicConsume(q, { noAck: false }, (m) => {
        got.push(m)
      })
      await waitFor(() => got.length === 2)
      await got[0]!.nack(true)
      await waitFor(() => got.length === 3)
      expect(got[2]!.bodyString()).toBe('x')
      expect(got[2]!.redelivered).toBe(true)
      await got[1]!.reject(false)
      await got[2]!.ack()
      await ch.close()
    } finally {
      await clientCloseQuietly(client)
    }
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 0)
    await check.close()
  })
})

describe('unacked messages on close', () => {
  test('channel.close with unacked messages redelivers them to another consumer', async () => {
    const q = await newQueue('close-channel')
    const { ch: other } = await amqplibChannel(conn)
    const { ch: first } = await amqplibChannel(conn)
    await first.prefetch(10)
    const got = await recorder(first, q)
    await fill(q, ['a', 'b', 'c'])
    await waitFor(() => got.length === 3)
    const redelivered = await (async () => {
      const collected = consumeN(other, q, 3, { ack: true })
      await first.close()
      return await collected
    })()
    expect(bodies(redelivered)).toEqual(['a', 'b', 'c'])
    expect(redelivered.map((m) => m.fields.redelivered)).toEqual([true, true, true])
    await other.close()
  })

  test('connection close with unacked messages redelivers them to another consumer', async () => {
    const q = await newQueue('close-connection')
    const owner = await amqplibConnect(broker.amqpUrl)
    const { ch: first } = await amqplibChannel(owner.conn)
    const got = await recorder(first, q)
    await fill(q, ['a', 'b'])
    await waitFor(() => got.length === 2)
    first.ack(got[0]!)
    // amqplib multiplexes channels, so connection.close could overtake the ack: a round trip on
    // the channel makes sure the ack went out first.
    await first.checkQueue(q)
    await owner.conn.close()
    const { ch: other } = await amqplibChannel(conn)
    const redelivered = await consumeN(other, q, 1, { ack: true })
    expect(bodies(redelivered)).toEqual(['b'])
    expect(redelivered[0]!.fields.redelivered).toBe(true)
    await waitForDepth(other, q, 0)
    await other.close()
  })

  test('a dropped TCP connection with unacked messages redelivers them', async () => {
    const q = await newQueue('drop-connection')
    const client = await clientConnect(broker.amqpUrl)
    const ch = await client.channel()
    const got: AMQPMessage[] = []
    await ch.basicConsume(q, { noAck: false }, (m) => {
      got.push(m)
    })
    await fill(q, ['a'])
    await waitFor(() => got.length === 1)
    client.socket?.destroy()
    const { ch: other } = await amqplibChannel(conn)
    const redelivered = await consumeN(other, q, 1, { ack: true })
    expect(bodies(redelivered)).toEqual(['a'])
    expect(redelivered[0]!.fields.redelivered).toBe(true)
    await other.close()
  })
})

describe('basic.get', () => {
  test('basic.get on an empty queue answers get-empty', async () => {
    const q = await newQueue('get-empty')
    const { ch } = await amqplibChannel(conn)
    expect(await ch.get(q)).toBe(false)
    await ch.close()
  })

  test('basic.get returns one message with the remaining message count', async () => {
    const q = await newQueue('get-count')
    await fill(q, ['a', 'b', 'c'])
    const { ch } = await amqplibChannel(conn)
    const first = (await ch.get(q)) as GetMessage
    expect(first.content.toString()).toBe('a')
    expect(first.fields.messageCount).toBe(2)
    expect(first.fields.redelivered).toBe(false)
    expect(first.fields.routingKey).toBe(q)
    expect(first.fields.exchange).toBe('')
    expect(first.fields.deliveryTag).toBe(1)
    const second = (await ch.get(q, { noAck: true })) as GetMessage
    expect(second.content.toString()).toBe('b')
    expect(second.fields.messageCount).toBe(1)
    expect(second.fields.deliveryTag).toBe(2)
    ch.ack(first)
    const third = (await ch.get(q)) as GetMessage
    expect(third.fields.messageCount).toBe(0)
    ch.nack(third, false, true)
    const again = (await ch.get(q)) as GetMessage
    expect(again.content.toString()).toBe('c')
    expect(again.fields.redelivered).toBe(true)
    ch.ack(again)
    expect(await ch.get(q)).toBe(false)
    await ch.close()
  })

  test('basic.get of a missing queue is refused with 404 NOT_FOUND', async () => {
    const q = uniq('missing')
    const { ch } = await amqplibChannel(conn)
    const error = await ch.get(q).then(
      () => undefined,
      (e: { code?: number; message: string }) => e,
    )
    expect(error?.code).toBe(404)
    expect(error?.message).toContain(`NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('basic.get through amqp-client returns null when empty and the message count otherwise', async () => {
    const q = await newQueue('client-get')
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      expect(await ch.basicGet(q)).toBeNull()
      await fill(q, ['one', 'two'])
      const msg = await ch.basicGet(q, { noAck: true })
      expect(msg?.bodyString()).toBe('one')
      expect(msg?.messageCount).toBe(1)
    } finally {
      await clientCloseQuietly(client)
    }
  })
})

describe('basic.recover', () => {
  test('basic.recover requeue=true redelivers every unacked message', async () => {
    const q = await newQueue('recover')
    await fill(q, ['a', 'b'])
    const { ch } = await amqplibChannel(conn)
    const got = await recorder(ch, q)
    await waitFor(() => got.length === 2)
    await ch.recover()
    await waitFor(() => got.length === 4)
    expect(bodies(got.slice(2))).toEqual(['a', 'b'])
    expect(got.slice(2).map((m) => m.fields.redelivered)).toEqual([true, true])
    // The old delivery tags are gone: acking the new ones empties the queue.
    ch.ack(got[3]!, true)
    await ch.close()
    const { ch: check } = await amqplibChannel(conn)
    await waitForDepth(check, q, 0)
    await check.close()
  })

  test('basic.recover requeue=true through amqp-client', async () => {
    const q = await newQueue('recover-client')
    await fill(q, ['a'])
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const got: AMQPMessage[] = []
      await ch.basicConsume(q, { noAck: false }, (m) => {
        got.push(m)
      })
      await waitFor(() => got.length === 1)
      await ch.basicRecover(true)
      await waitFor(() => got.length === 2)
      expect(got[1]!.redelivered).toBe(true)
      await got[1]!.ack()
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('basic.recover requeue=false is refused with 540 NOT_IMPLEMENTED', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await clientRejects(ch.basicRecover(false), 540, 'NOT_IMPLEMENTED - requeue=false')
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
