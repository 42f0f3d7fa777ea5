// A backlog past storeMemoryLimit keeps its bodies on disk: the broker holds (and the memory
// alarm counts) about the limit, before and after a restart, and every body still arrives.
import { afterAll, describe, expect, test } from 'bun:test'
import { AMQPClient } from '@cloudamqp/amqp-client'
import { loadConfig } from '../../src/config.ts'
import { startServer } from '../../src/server.ts'
import { cleanup, tempDataDir } from './broker_process.ts'

afterAll(cleanup)

const LIMIT = 64 * 1024
const COUNT = 2000
const BODY = 1024

describe('a backlog larger than storeMemoryLimit', () => {
  test('stays on disk, is counted at the limit, and is delivered whole after a restart', async () => {
    const dataDir = tempDataDir()
    const config = loadConfig({
      argv: [],
      env: {},
      file: { host: '127.0.0.1', amqpPort: 0, mqttPort: 0, httpPort: 0, dataDir, storeMemoryLimit: LIMIT, logLevel: 'warn' },
    })
    let server = await startServer(config)
    let client = new AMQPClient(`amqp://guest:guest@127.0.0.1:${server.ports.amqp}`)
    let conn = await client.connect()
    const ch = await conn.channel()
    await ch.confirmSelect()
    await ch.queueDeclare('backlog', { durable: true })
    const pending: Promise<unknown>[] = []
    for (let i = 0; i < COUNT; i++) {
      const body = new Uint8Array(BODY).fill(i % 251)
      new DataView(body.buffer).setUint32(0, i)
      pending.push(ch.basicPublish('', 'backlog', body, { deliveryMode: 2 }))
    }
    await Promise.all(pending)
    expect(server.broker.heldBytes).toBeLessThanOrEqual(LIMIT + 64 * BODY)
    await conn.close()
    await server.stop()

    server = await startServer(config)
    expect(server.broker.heldBytes).toBeLessThanOrEqual(LIMIT)
    client = new AMQPClient(`amqp://guest:guest@127.0.0.1:${server.ports.amqp}`)
    conn = await client.connect()
    const reader = await conn.channel()
    await reader.prefetch(100)
    const seen: number[] = []
    await new Promise<void>((resolve) => {
      void reader.basicConsume('backlog', { noAck: false }, (m) => {
        const body = m.body!
        expect(body.byteLength).toBe(BODY)
        const i = new DataView(body.buffer, body.byteOffset).getUint32(0)
        expect(body[BODY - 1]).toBe(i % 251)
        seen.push(i)
        void m.ack()
        if (seen.length === COUNT) resolve()
      })
    })
    expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => i))
    await conn.close()
    expect(server.broker.heldBytes).toBe(0)
    await server.stop()
  }, 60_000)
})
