// Durable definitions across kill -9 and a clean restart: what is durable comes back, the rest
// does not, and what was deleted stays deleted.
import { afterAll, describe, expect, test } from 'bun:test'
import type { Channel } from 'amqplib'
import { amqplibConnect, watch } from '../helpers/amqp.ts'
import { cleanup, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`

async function api(broker: BrokerProcess, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${broker.httpUrl}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
  return res
}

async function channel(url: string): Promise<Channel> {
  const { conn } = await amqplibConnect(url)
  const ch = await conn.createChannel()
  watch(ch)
  return ch
}

/** Resolves with the close error a failing command causes (the channel is gone afterwards). */
async function fails(url: string, run: (ch: Channel) => Promise<unknown>): Promise<string> {
  const ch = await channel(url)
  try {
    await run(ch)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected the command to fail')
}

/** Declares the durable and transient definitions the checks below look for. */
async function declareEverything(broker: BrokerProcess): Promise<Channel> {
  await api(broker, 'PUT', '/vhosts/v2', { description: 'second' })
  await api(broker, 'PUT', '/users/alice', { password: 'secret', tags: 'management' })
  await api(broker, 'PUT', '/permissions/v2/alice', { configure: '^alice-', write: '.*', read: '.*' })
  const ch = await channel(broker.amqpUrl)
  await ch.assertExchange('dx', 'topic', { durable: true })
  await ch.assertExchange('dx2', 'fanout', { durable: true })
  await ch.assertExchange('hx', 'headers', { durable: true })
  await ch.assertExchange('tx', 'fanout', { durable: false })
  await ch.assertQueue('dq', { durable: true, arguments: { 'x-max-length': 100, 'x-message-ttl': 600_000 } })
  await ch.assertQueue('hq', { durable: true })
  await ch.assertQueue('tq', { durable: false })
  await ch.assertQueue('gone', { durable: true })
  await ch.assertQueue('eq', { durable: true, exclusive: true })
  await ch.bindQueue('dq', 'dx', 'a.#')
  await ch.bindQueue('dq', 'dx', 'unbound.key')
  await ch.bindQueue('tq', 'dx', '#')
  await ch.bindExchange('dx', 'dx2', '')
  await ch.bindQueue('hq', 'hx', '', { 'x-match': 'all', kind: 'blue', n: 7 })
  await ch.unbindQueue('dq', 'dx', 'unbound.key')
  await ch.deleteQueue('gone')
  return ch
}

/** Everything durable is back and works; nothing transient is. */
async function checkEverything(broker: BrokerProcess): Promise<void> {
  const url = broker.amqpUrl
  const ch = await channel(url)
  // Durable ones exist, with their type and arguments (redeclaring equivalently is fine).
  await ch.checkExchange('dx')
  await ch.assertExchange('dx', 'topic', { durable: true })
  await ch.assertQueue('dq', { durable: true, arguments: { 'x-max-length': 100, 'x-message-ttl': 600_000 } })
  expect(await fails(url, (c) => c.assertExchange('dx', 'direct', { durable: true }))).toContain('PRECONDITION_FAILED')
  expect(await fails(url, (c) => c.assertQueue('dq', { durable: true, arguments: { 'x-max-length': 5 } }))).toContain(
    'PRECONDITION_FAILED',
  )
  // Transient, exclusive and deleted ones are not.
  for (const q of ['tq', 'eq', 'gone']) expect(await fails(url, (c) => c.checkQueue(q))).toContain('NOT_FOUND')
  expect(await fails(url, (c) => c.checkExchange('tx'))).toContain('NOT_FOUND')

  // Bindings route: topic, exchange-to-exchange, headers with arguments; the unbound key does not.
  ch.publish('dx', 'a.b', Buffer.from('via topic'))
  ch.publish('dx2', 'a.e2e', Buffer.from('via e2e'))
  ch.publish('dx', 'unbound.key', Buffer.from('unbound'))
  ch.publish('hx', '', Buffer.from('via headers'), { headers: { kind: 'blue', n: 7 } })
  ch.publish('hx', '', Buffer.from('wrong headers'), { headers: { kind: 'red', n: 7 } })
  const bodies = async (q: string): Promise<string[]> => {
    const out: string[] = []
    for (let i = 0; i < 10; i++) {
      const m = await ch.get(q, { noAck: true })
      if (m === false) break
      out.push(m.content.toString())
    }
    return out
  }
  // A get after the publishes on the same channel sees them (the broker handles frames in order).
  expect(await bodies('dq')).toEqual(['via topic', 'via e2e'])
  expect(await bodies('hq')).toEqual(['via headers'])

  // The user, her password, vhost and permissions.
  const aliceUrl = url.replace('guest:guest@', 'alice:secret@') + '/v2'
  const alice = await channel(aliceUrl)
  await alice.assertQueue('alice-q', { durable: false })
  expect(await fails(aliceUrl, (c) => c.assertQueue('bob-q'))).toContain('ACCESS_REFUSED')
  const vhost = (await (await api(broker, 'GET', '/vhosts/v2')).json()) as { description: string }
  expect(vhost.description).toBe('second')
}

describe('durable definitions', () => {
  test('survive kill -9 right after the last declare-ok; transient, exclusive and deleted ones do not', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await declareEverything(broker)
    await broker.crash()
    broker = await startBrokerProcess(dataDir)
    await checkEverything(broker)
    await broker.stop()
  }, 60_000)

  test('survive a clean shutdown (SIGTERM exits 0) and a second restart', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await declareEverything(broker)
    expect(await broker.stop()).toBe(0)
    broker = await startBrokerProcess(dataDir)
    await checkEverything(broker)
    expect(await broker.stop()).toBe(0)
    // The compacted log restores the same state again.
    broker = await startBrokerProcess(dataDir)
    await checkEverything(broker)
    expect(await broker.stop()).toBe(0)
  }, 60_000)

  test('a deleted vhost and user stay deleted; the default user is not re-created', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await api(broker, 'PUT', '/vhosts/v3', {})
    await api(broker, 'PUT', '/users/admin2', { password: 'pw', tags: 'administrator' })
    await api(broker, 'PUT', '/permissions/%2F/admin2', { configure: '.*', write: '.*', read: '.*' })
    await api(broker, 'DELETE', '/vhosts/v3')
    await api(broker, 'DELETE', '/users/guest')
    await broker.crash()
    broker = await startBrokerProcess(dataDir)
    const admin = `Basic ${Buffer.from('admin2:pw').toString('base64')}`
    const vhosts = (await (await fetch(`${broker.httpUrl}/api/vhosts`, { headers: { authorization: admin } })).json()) as { name: string }[]
    expect(vhosts.map((v) => v.name)).toEqual(['/'])
    const guest = await fetch(`${broker.httpUrl}/api/whoami`, { headers: { authorization: AUTH } })
    expect(guest.status).toBe(401)
    await broker.stop()
  }, 60_000)
})
