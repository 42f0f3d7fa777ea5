import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, clientCloseQuietly, clientConnect, clientRejects, closeQuietly, uniq } from '../helpers/amqp.ts'
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

async function fill(queue: string, count: number): Promise<void> {
  const ch = await conn.createConfirmChannel()
  for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`))
  await ch.waitForConfirms()
  await ch.close()
}

/** Ready messages left in the queue: proof that nothing more went out to consumers. */
async function ready(queue: string): Promise<number> {
  const ch = await conn.createChannel()
  const { messageCount } = await ch.checkQueue(queue)
  await ch.close()
  return messageCount
}

describe('basic.qos', () => {
  test('basic.qos stops delivery at prefetch until ack', async () => {
    const q = uniq('prefetch')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 5)
    await ch.prefetch(2)
    const got: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && got.push(m))
    await waitFor(() => got.length === 2)
    expect(await ready(q)).toBe(3)
    expect(got.length).toBe(2)
    ch.ack(got[0]!)
    await waitFor(() => got.length === 3)
    expect(await ready(q)).toBe(2)
    ch.ack(got[2]!, true)
    await waitFor(() => got.length === 5)
    expect(got.map((m) => m.content.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos global=false limits each consumer on the channel separately', async () => {
    const q = uniq('per-consumer')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 10)
    await ch.prefetch(2, false)
    const a: ConsumeMessage[] = []
    const b: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && a.push(m))
    await ch.consume(q, (m) => m && b.push(m))
    await waitFor(() => a.length === 2 && b.length === 2)
    expect(await ready(q)).toBe(6)
    expect([a.length, b.length]).toEqual([2, 2])
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos global=false applies to consumers created after it', async () => {
    const q = uniq('per-consumer-order')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 6)
    const unlimited: ConsumeMessage[] = []
    await ch.prefetch(1, false)
    const limited: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && limited.push(m))
    await waitFor(() => limited.length === 1)
    await ch.prefetch(0, false)
    await ch.consume(q, (m) => m && unlimited.push(m))
    await waitFor(() => unlimited.length === 5)
    expect(limited.length).toBe(1)
    expect(await ready(q)).toBe(0)
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos global=true shares one limit across the consumers of the channel', async () => {
    const q1 = uniq('global-1')
    const q2 = uniq('global-2')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q1, { exclusive: true })
    await ch.assertQueue(q2, { exclusive: true })
    await fill(q1, 5)
    await fill(q2, 5)
    await ch.prefetch(3, true)
    const got: ConsumeMessage[] = []
    await ch.consume(q1, (m) => m && got.push(m))
    await ch.consume(q2, (m) => m && got.push(m))
    await waitFor(() => got.length === 3)
    expect((await ready(q1)) + (await ready(q2))).toBe(7)
    expect(got.length).toBe(3)
    ch.ack(got[0]!)
    await waitFor(() => got.length === 4)
    expect((await ready(q1)) + (await ready(q2))).toBe(6)
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos global=true and global=false both apply', async () => {
    const q = uniq('both')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 10)
    await ch.prefetch(3, true)
    await ch.prefetch(2, false)
    const a: ConsumeMessage[] = []
    const b: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && a.push(m))
    await ch.consume(q, (m) => m && b.push(m))
    await waitFor(() => a.length + b.length === 3)
    expect(await ready(q)).toBe(7)
    expect(a.length).toBeLessThanOrEqual(2)
    expect(b.length).toBeLessThanOrEqual(2)
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos prefetch 0 means unlimited', async () => {
    const q = uniq('unlimited')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 20)
    await ch.prefetch(0)
    const got: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && got.push(m))
    await waitFor(() => got.length === 20)
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos does not limit a no-ack consumer', async () => {
    const q = uniq('noack-ignores-qos')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 5)
    await ch.prefetch(1)
    const got: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && got.push(m), { noAck: true })
    await waitFor(() => got.length === 5)
    await ch.close()
  })

  test('basic.qos limits basic.consume but not basic.get', async () => {
    const q = uniq('get-ignores-qos')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await fill(q, 3)
    await ch.prefetch(1)
    const first = await ch.get(q)
    const second = await ch.get(q)
    expect(first).not.toBe(false)
    expect(second).not.toBe(false)
    ch.ackAll()
    await ch.close()
  })

  test('basic.qos stops delivery at prefetch until ack (amqp-client)', async () => {
    const q = uniq('prefetch-client')
    const { ch: setup } = await amqplibChannel(conn)
    await setup.assertQueue(q)
    await fill(q, 4)
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await ch.prefetch(1)
      const got: AMQPMessage[] = []
      await ch.basicConsume(q, { noAck: false }, (m) => {
        got.push(m)
      })
      await waitFor(() => got.length === 1)
      expect(await ready(q)).toBe(3)
      await got[0]!.ack()
      await waitFor(() => got.length === 2)
      expect(await ready(q)).toBe(2)
    } finally {
      await clientCloseQuietly(client)
    }
    await setup.deleteQueue(q)
    await setup.close()
  })

  test('basic.qos with prefetch_size is refused with 540 NOT_IMPLEMENTED', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await clientRejects(ch.basicQos(10, 4096), 540, 'NOT_IMPLEMENTED - prefetch_size!=0 (4096)')
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
