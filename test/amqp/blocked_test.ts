import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, consumeN, uniq, within } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'
import { RawAmqp, basicPublishFrame, bodyFrame, contentHeaderFrame } from '../helpers/raw_amqp.ts'

// Queues holding more than 1 MB of bodies trip the memory alarm.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker({ memoryHighWatermark: 1_000_000 })
})

afterAll(async () => {
  await broker?.stop()
})

describe('connection.blocked', () => {
  test('connection.blocked reaches a publisher once queues hold more than the watermark, unblocked after draining (amqplib)', async () => {
    const q = uniq('blocked')
    // The consumer's connection exists before the alarm and never publishes.
    const consumer = await amqplibConnect(broker.amqpUrl)
    const publisher = await amqplibConnect(broker.amqpUrl)
    try {
      const events: string[] = []
      const blocked = new Promise<string>((resolve) => {
        publisher.conn.on('blocked', (reason: string) => {
          events.push('blocked')
          resolve(reason)
        })
      })
      const unblocked = new Promise<void>((resolve) => {
        publisher.conn.on('unblocked', () => {
          events.push('unblocked')
          resolve()
        })
      })
      const cch = await consumer.conn.createChannel()
      await cch.assertQueue(q, { durable: false })
      const pch = await publisher.conn.createChannel()
      for (let i = 0; i < 4; i++) pch.sendToQueue(q, Buffer.alloc(400_000, i))
      expect(await within(blocked, 5000, 'connection.blocked')).toBe('low on memory')
      expect(events).toEqual(['blocked'])
      // Draining the queue clears the alarm; whatever the publisher still had queued then arrives.
      const got = await consumeN(cch, q, 4, { noAck: true, timeout: 10_000 })
      await within(unblocked, 5000, 'connection.unblocked')
      expect(events).toEqual(['blocked', 'unblocked'])
      expect(got.map((m) => m.content.length)).toEqual([400_000, 400_000, 400_000, 400_000])
      expect(got.map((m) => m.content[0])).toEqual([0, 1, 2, 3])
      // The publisher works normally again.
      pch.sendToQueue(q, Buffer.from('after'))
      const [after] = await consumeN(cch, q, 1, { noAck: true })
      expect(after!.content.toString()).toBe('after')
    } finally {
      await closeQuietly(publisher.conn)
      // Never leave the alarm on for the next test.
      await (await consumer.conn.createChannel()).deleteQueue(q).catch(() => {})
      await closeQuietly(consumer.conn)
    }
  })

  test('connection.blocked and connection.unblocked reach amqp-client', async () => {
    const q = uniq('blocked-client')
    const consumer = await amqplibConnect(broker.amqpUrl)
    const client = await clientConnect(broker.amqpUrl)
    try {
      const reasons: string[] = []
      let unblocked = 0
      client.onblocked = (reason) => reasons.push(reason)
      client.onunblocked = () => {
        unblocked += 1
      }
      const cch = await consumer.conn.createChannel()
      await cch.assertQueue(q, { durable: false })
      const ch = await client.channel()
      // The third message trips the alarm; RabbitMQ blocks a connection when it publishes during
      // an alarm, so the fourth publish is what brings connection.blocked.
      for (let i = 0; i < 4; i++) void ch.basicPublish('', q, new Uint8Array(500_000)).catch(() => {})
      await waitFor(() => reasons.length === 1, { timeout: 5000, message: 'connection.blocked' })
      expect(reasons).toEqual(['low on memory'])
      expect(client.blocked).toBe('low on memory')
      let got = 0
      await cch.consume(q, (m) => {
        if (m) got += 1
      }, { noAck: true })
      await waitFor(() => unblocked === 1, { timeout: 5000, message: 'connection.unblocked' })
      expect(client.blocked).toBeUndefined()
      await waitFor(() => got === 4, { timeout: 10_000 })
    } finally {
      await clientCloseQuietly(client)
      // Never leave the alarm on for the next test.
      await (await consumer.conn.createChannel()).deleteQueue(q).catch(() => {})
      await closeQuietly(consumer.conn)
    }
  })

  test('a client without the connection.blocked capability gets no connection.blocked method', async () => {
    const q = uniq('blocked-raw')
    const consumer = await amqplibConnect(broker.amqpUrl)
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      const cch = await consumer.conn.createChannel()
      await cch.assertQueue(q, { durable: false })
      await raw.handshake({ capabilities: {} })
      await raw.openChannel(1)
      const body = Buffer.alloc(1_200_000, 7)
      raw.write(Buffer.concat([basicPublishFrame(1, '', q), contentHeaderFrame(1, body.length)]))
      for (let off = 0; off < body.length; off += 131_064) raw.write(bodyFrame(1, body.subarray(off, off + 131_064)))
      const [msg] = await consumeN(cch, q, 1, { noAck: true, timeout: 10_000 })
      expect(msg!.content.length).toBe(body.length)
      // Round trip on the raw connection: anything the server sent before the reply is queued first.
      await raw.openChannel(2)
      // connection.blocked is method 10.60 on channel 0; a raw client would see it before open-ok.
      expect(raw.receivedBytes().includes(Buffer.from([0x00, 0x0a, 0x00, 0x3c]))).toBe(false)
    } finally {
      raw.destroy()
      await (await consumer.conn.createChannel()).deleteQueue(q).catch(() => {})
      await closeQuietly(consumer.conn)
    }
  })
})
