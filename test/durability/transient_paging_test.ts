// Transient messages page out too: a backlog of transient messages past transientMemoryLimit, on a
// non-durable queue and on a durable one, keeps its bodies on disk (the broker holds about the
// limit), is delivered whole and in order, and is gone after a restart, while the persistent
// messages beside it come back.
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AMQPClient, type AMQPChannel } from '@cloudamqp/amqp-client'
import { loadConfig } from '../../src/config.ts'
import { startServer } from '../../src/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { cleanup, tempDataDir } from './broker_process.ts'

afterAll(cleanup)

const LIMIT = 64 * 1024
const COUNT = 2000
const BODY = 1024

function body(i: number): Uint8Array {
  const b = new Uint8Array(BODY).fill(i % 251)
  new DataView(b.buffer).setUint32(0, i)
  return b
}

/** Publishes bodies `from`..`to - 1` with confirms. */
async function publish(ch: AMQPChannel, queue: string, from: number, to: number, deliveryMode: 1 | 2): Promise<void> {
  const pending: Promise<unknown>[] = []
  for (let i = from; i < to; i++) pending.push(ch.basicPublish('', queue, body(i), { deliveryMode }))
  await Promise.all(pending)
}

/** Consumes `count` messages with acks; resolves with their indices, checking every body. */
async function consume(ch: AMQPChannel, queue: string, count: number): Promise<number[]> {
  await ch.prefetch(100)
  const seen: number[] = []
  await new Promise<void>((resolve, reject) => {
    void ch
      .basicConsume(queue, { noAck: false }, (m) => {
        const b = m.body!
        const i = new DataView(b.buffer, b.byteOffset).getUint32(0)
        if (b.byteLength !== BODY || b[BODY - 1] !== i % 251) reject(new Error(`message ${i} came back damaged`))
        seen.push(i)
        void m.ack()
        if (seen.length === count) resolve()
      })
      .catch(reject)
  })
  return seen
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('transient messages past transientMemoryLimit', () => {
  test('page out on non-durable and durable queues, come back whole and in order, and do not outlive the broker', async () => {
    const dataDir = tempDataDir()
    const config = loadConfig({
      argv: [],
      env: {},
      file: { host: '127.0.0.1', amqpPort: 0, mqttPort: 0, httpPort: 0, dataDir, storeMemoryLimit: LIMIT, transientMemoryLimit: LIMIT, logLevel: 'warn' },
    })
    let server = await startServer(config)
    let conn = await new AMQPClient(`amqp://guest:guest@127.0.0.1:${server.ports.amqp}`).connect()
    const ch = await conn.channel()
    await ch.confirmSelect()
    await ch.queueDeclare('plain', { durable: false })
    await ch.queueDeclare('mixed', { durable: true })
    await publish(ch, 'plain', 0, COUNT, 1)
    // The durable queue: transient, then persistent, then transient again.
    await publish(ch, 'mixed', 0, COUNT, 1)
    await publish(ch, 'mixed', COUNT, COUNT + 100, 2)
    await publish(ch, 'mixed', COUNT + 100, 2 * COUNT, 1)
    // Over 6 MB published; once the turn's page-out is written the broker holds about the two
    // limits (transient and persistent bodies).
    const held = () => server.broker.heldBytes
    await waitFor(() => held() <= 2 * LIMIT + BODY, { message: `held bytes to fall to the limit (${held()})` })
    expect(readdirSync(join(dataDir, 'transient')).length).toBe(1)

    const reader = await conn.channel()
    expect(await consume(reader, 'plain', COUNT)).toEqual(range(0, COUNT))
    expect(server.broker.heldBytes).toBeLessThanOrEqual(2 * LIMIT + BODY)
    await conn.close()
    await server.stop()
    expect(existsSync(join(dataDir, 'transient', '1'))).toBe(false)

    // After the restart only the persistent hundred are left in the durable queue.
    server = await startServer(config)
    conn = await new AMQPClient(`amqp://guest:guest@127.0.0.1:${server.ports.amqp}`).connect()
    const again = await conn.channel()
    expect((await again.queueDeclare('mixed', { durable: true, passive: true })).messageCount).toBe(100)
    expect(await consume(again, 'mixed', 100)).toEqual(range(COUNT, COUNT + 100))
    await conn.close()
    expect(server.broker.heldBytes).toBe(0)
    await server.stop()
  }, 60_000)
})
