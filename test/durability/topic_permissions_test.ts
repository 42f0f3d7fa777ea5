// Topic permissions are durable definitions: they survive kill -9 and a clean restart (through
// the compacted log), deletions stay deleted, and the restored ones are enforced.
import { afterAll, describe, expect, test } from 'bun:test'
import { amqplibChannel, amqplibConnect, closeQuietly, within } from '../helpers/amqp.ts'
import { cleanup, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`

async function api(broker: BrokerProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${broker.httpUrl}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return text === '' ? undefined : JSON.parse(text)
}

async function setUp(broker: BrokerProcess): Promise<void> {
  await api(broker, 'PUT', '/users/alice', { password: 'secret', tags: '' })
  await api(broker, 'PUT', '/permissions/%2F/alice', { configure: '.*', write: '.*', read: '.*' })
  await api(broker, 'PUT', '/topic-permissions/%2F/alice', { exchange: 'amq.topic', write: '^{username}\\.', read: '.*' })
  await api(broker, 'PUT', '/topic-permissions/%2F/alice', { exchange: 'x1', write: '.*', read: '.*' })
  await api(broker, 'PUT', '/topic-permissions/%2F/alice', { exchange: 'x2', write: '^a', read: '^b' })
  await api(broker, 'DELETE', '/topic-permissions/%2F/alice/x1')
  await api(broker, 'PUT', '/users/bob', { password: 'secret', tags: '' })
  await api(broker, 'PUT', '/topic-permissions/%2F/bob', { exchange: 'amq.topic', write: '', read: '' })
  await api(broker, 'DELETE', '/users/bob')
}

async function check(broker: BrokerProcess): Promise<void> {
  const all = (await api(broker, 'GET', '/topic-permissions')) as { user: string; exchange: string }[]
  expect(all.map((p) => `${p.user}:${p.exchange}`).sort()).toEqual(['alice:amq.topic', 'alice:x2'])
  expect(await api(broker, 'GET', '/topic-permissions/%2F/alice/x2')).toEqual([{ user: 'alice', vhost: '/', exchange: 'x2', write: '^a', read: '^b' }])
  const { conn } = await amqplibConnect(`amqp://alice:secret@127.0.0.1:${new URL(broker.amqpUrl).port}`)
  try {
    const { ch, watch } = await amqplibChannel(conn)
    ch.publish('amq.topic', 'bob.key', Buffer.from('x'))
    const error = await within(watch.closed, 5000, 'channel close')
    expect(error?.message).toContain("write access to topic 'bob.key' in exchange 'amq.topic' in vhost '/' refused for user 'alice'")
  } finally {
    await closeQuietly(conn)
  }
}

describe('durable topic permissions', () => {
  test('survive kill -9 and clean restarts; deleted ones stay deleted', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await setUp(broker)
    await broker.crash()
    broker = await startBrokerProcess(dataDir)
    await check(broker)
    expect(await broker.stop()).toBe(0)
    broker = await startBrokerProcess(dataDir)
    await check(broker)
    expect(await broker.stop()).toBe(0)
  }, 60_000)
})
