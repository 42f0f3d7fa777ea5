import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, closeQuietly, consumeN } from '../helpers/amqp.ts'
import { FRAME_HEARTBEAT, RawAmqp, heartbeatFrame } from '../helpers/raw_amqp.ts'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** Answers every server heartbeat until `ms` have passed; bounded by a frame count. */
async function keepAlive(raw: RawAmqp, ms: number): Promise<number> {
  const started = Date.now()
  let answered = 0
  for (let i = 0; i < 50 && Date.now() - started < ms; i++) {
    const f = await raw.next(2500)
    if (f.type === FRAME_HEARTBEAT) {
      raw.write(heartbeatFrame())
      answered += 1
    }
  }
  return answered
}

describe('heartbeats', () => {
  test('a client that negotiated heartbeat=1 and stays silent is disconnected within ~2-3 s', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake({ heartbeat: 1 })
    const started = Date.now()
    await raw.waitClosed(5000)
    const elapsed = Date.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThanOrEqual(4500)
    // The server kept its side of the deal and sent heartbeats before giving up.
    expect(raw.heartbeatsReceived).toBeGreaterThanOrEqual(1)
  })

  test('a client that sends heartbeats stays connected past two timeouts', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    const libShort = await amqplibConnect(`${broker.amqpUrl}?heartbeat=1`)
    try {
      await raw.handshake({ heartbeat: 1 })
      const answered = await keepAlive(raw, 3500)
      expect(answered).toBeGreaterThanOrEqual(2)
      expect(raw.closed).toBe(false)
      await raw.openChannel(1)
      // amqplib with heartbeat=1 sends its own heartbeats: still usable after the same time.
      expect(libShort.watch.isClosed()).toBe(false)
      const ch = await libShort.conn.createChannel()
      const { queue } = await ch.assertQueue('', { exclusive: true })
      ch.sendToQueue(queue, Buffer.from('alive'))
      const [msg] = await consumeN(ch, queue, 1, { noAck: true })
      expect(msg!.content.toString()).toBe('alive')
    } finally {
      raw.destroy()
      await closeQuietly(libShort.conn)
    }
  })
})
