// User policies are durable definitions: they come back after a clean restart and after kill -9,
// apply to the restored queues and exchanges, and a deleted policy stays deleted.
import { afterAll, describe, expect, test } from 'bun:test'
import type { Channel } from 'amqplib'
import { amqplibConnect, closeQuietly, waitForDepth, watch } from '../helpers/amqp.ts'
import { cleanup, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`

async function api(broker: BrokerProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${broker.httpUrl}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

async function withChannel<T>(broker: BrokerProcess, run: (ch: Channel) => Promise<T>): Promise<T> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  try {
    const ch = await conn.createChannel()
    watch(ch)
    return await run(ch)
  } finally {
    await closeQuietly(conn)
  }
}

describe('durable policies', () => {
  test('a policy survives restarts (clean and kill -9) and still applies; a deleted one stays deleted', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    const limit = { pattern: '^dur\\.', definition: { 'max-length': 2 }, priority: 1, 'apply-to': 'queues' }
    expect((await api(broker, 'PUT', '/policies/%2F/limit', limit)).status).toBe(201)
    const gone = { pattern: '^dur\\.', definition: { 'max-length': 1 }, priority: 9 }
    expect((await api(broker, 'PUT', '/policies/%2F/gone', gone)).status).toBe(201)
    expect((await api(broker, 'DELETE', '/policies/%2F/gone')).status).toBe(204)
    await withChannel(broker, async (ch) => {
      await ch.assertQueue('dur.q', { durable: true })
      await ch.assertExchange('dur.ae', 'fanout', { durable: true })
      await ch.assertQueue('ae-target', { durable: true })
      await ch.bindQueue('ae-target', 'dur.ae', '')
      await ch.assertExchange('dur.x', 'direct', { durable: true })
    })
    expect((await api(broker, 'PUT', '/policies/%2F/ae', { pattern: '^dur\\.x$', definition: { 'alternate-exchange': 'dur.ae' }, 'apply-to': 'exchanges' })).status).toBe(201)
    await broker.stop()

    // `restart`: how the previous broker ended.
    for (const restart of ['clean', 'kill -9'] as const) {
      broker = await startBrokerProcess(dataDir)
      const policies = (await api(broker, 'GET', '/policies/%2F')).body as { name: string }[]
      expect({ restart, names: policies.map((p) => p.name).sort() }).toEqual({ restart, names: ['ae', 'limit'] })
      expect((await api(broker, 'GET', '/policies/%2F/limit')).body).toEqual({ vhost: '/', name: 'limit', ...limit })
      expect((await api(broker, 'GET', '/queues/%2F/dur.q')).body).toMatchObject({ policy: 'limit', effective_policy_definition: { 'max-length': 2 } })
      await withChannel(broker, async (ch) => {
        for (let i = 0; i < 5; i++) ch.sendToQueue('dur.q', Buffer.from(`m${i}`), { persistent: true })
        expect((await ch.checkQueue('dur.q')).messageCount).toBe(2)
        await ch.purgeQueue('dur.q')
        ch.publish('dur.x', 'unroutable', Buffer.from('ae'), { persistent: true })
        await waitForDepth(ch, 'ae-target', 1)
        await ch.purgeQueue('ae-target')
      })
      // The next round restarts after the other kind of ending.
      if (restart === 'clean') await broker.crash()
      else await broker.stop()
    }
  })
})
