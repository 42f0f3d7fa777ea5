import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConfirmChannel, amqplibConnect, closeQuietly, uniq, waitForDepth, within } from '../helpers/amqp.ts'
import { FRAME_METHOD, RawAmqp, isMethod, methodFrame, shortstr, u16, u32, u8 } from '../helpers/raw_amqp.ts'

// Backpressure both ways (runtime layer): a consumer whose socket is not read stops receiving
// deliveries (they stay ready in the queue, not in the broker's memory), and a publisher's socket
// is not read while the broker is over its memory bound.
let broker: TestBroker
let lowMemoryBroker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
  lowMemoryBroker = await startBroker({ memoryHighWatermark: 2_000_000 })
})

afterAll(async () => {
  await broker?.stop()
  await lowMemoryBroker?.stop()
})

function basicConsumeNoAck(channel: number, queue: string): Buffer {
  const noAckBit = 0b10
  return methodFrame(channel, 60, 20, Buffer.concat([u16(0), shortstr(queue), shortstr(''), u8(noAckBit), u32(0)]))
}

describe('socket backpressure', () => {
  test('deliveries stop while a consumer does not read its socket and resume when it does', async () => {
    const q = uniq('bp-consumer')
    const count = 600
    const body = Buffer.alloc(64 * 1024, 7)
    const publisher = await amqplibConnect(broker.amqpUrl)
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      const { ch } = await amqplibConfirmChannel(publisher.conn)
      await ch.assertQueue(q, { durable: false })
      await raw.handshake({ heartbeat: 0 })
      await raw.openChannel(1)
      raw.write(basicConsumeNoAck(1, q))
      await raw.expectMethod(60, 21)
      raw.socket.pause()

      // 600 x 64 KiB is far more than the loopback socket buffers hold.
      for (let i = 0; i < count; i++) ch.sendToQueue(q, body)
      await ch.waitForConfirms()
      const waiting = (await ch.checkQueue(q)).messageCount
      expect(waiting).toBeGreaterThan(count / 4)

      raw.socket.resume()
      let delivered = 0
      while (delivered < count) {
        const frame = await raw.next(10_000)
        if (frame.type === FRAME_METHOD && isMethod(frame, 60, 60)) delivered++
      }
      expect(delivered).toBe(count)
      expect((await ch.checkQueue(q)).messageCount).toBe(0)
    } finally {
      raw.destroy()
      await closeQuietly(publisher.conn)
    }
  })

  test('a publisher is not read while the broker is over its memory bound, and is read again after', async () => {
    const q = uniq('bp-publisher')
    const admin = await amqplibConnect(lowMemoryBroker.amqpUrl)
    const publisher = await amqplibConnect(lowMemoryBroker.amqpUrl)
    try {
      const blocked = new Promise<void>((resolve) => publisher.conn.once('blocked', () => resolve()))
      const unblocked = new Promise<void>((resolve) => publisher.conn.once('unblocked', () => resolve()))
      const ach = await admin.conn.createChannel()
      await ach.assertQueue(q, { durable: false })
      const pch = await publisher.conn.createChannel()
      // 3 MB trips the 2 MB alarm; then 20 more messages are written while blocked.
      for (let i = 0; i < 3; i++) pch.sendToQueue(q, Buffer.alloc(1_000_000, i))
      await within(blocked, 5000, 'connection.blocked')
      for (let i = 0; i < 20; i++) pch.sendToQueue(q, Buffer.from(`late-${i}`))
      // Round trips on another connection prove the broker is serving, yet the late messages
      // stay unread in the publisher's socket.
      for (let i = 0; i < 5; i++) expect((await ach.checkQueue(q)).messageCount).toBeLessThanOrEqual(4)

      await ach.purgeQueue(q)
      await within(unblocked, 5000, 'connection.unblocked')
      await waitForDepth(ach, q, 20)
    } finally {
      await closeQuietly(publisher.conn)
      await (await admin.conn.createChannel()).deleteQueue(q).catch(() => {})
      await closeQuietly(admin.conn)
    }
  })
})
