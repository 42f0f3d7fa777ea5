// What RabbitMQ's tools depend on beyond the basic resources: binding keys as rabbitmqadmin
// sends them, users/bulk-delete and without-permissions, per-vhost definitions, returned versus
// dropped unroutable publishes, and the connection fields an AMQP client negotiated.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Message } from 'amqplib'
import { amqplibConfirmChannel, amqplibConnect, closeQuietly, type Conn, uniq } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { addUser, type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
})

afterAll(async () => {
  await broker?.stop()
})

describe('a binding named by its properties key', () => {
  const routingKeys = ['a.*', 'a.#', 'with space', 'a/b', '50%', '%41', 'x+y', 'é.~']

  test('GET and DELETE take the key URL-encoded once (as rabbitmqadmin sends it) or twice', async () => {
    const x = uniq('bkx')
    const q = uniq('bkq')
    expect((await api('PUT', `/exchanges/%2F/${x}`, { type: 'topic' })).status).toBe(201)
    expect((await api('PUT', `/queues/%2F/${q}`, {})).status).toBe(201)
    const base = `/bindings/%2F/e/${x}/q/${q}`
    for (const key of routingKeys) expect((await api('POST', base, { routing_key: key })).status).toBe(201)
    const listed = (await api('GET', base)).body as { routing_key: string; properties_key: string }[]
    expect(listed).toHaveLength(routingKeys.length)

    for (const { routing_key, properties_key } of listed) {
      // Twice: the properties_key from the listing, URL-encoded.
      const twice = await api('GET', `${base}/${encodeURIComponent(properties_key)}`)
      expect({ routing_key, status: twice.status, key: twice.body?.routing_key }).toEqual({ routing_key, status: 200, key: routing_key })
    }
    // Once: the properties key itself in the path, or rabbitmqadmin's quote() of the routing key.
    expect((await api('GET', `${base}/a.%2A`)).body.routing_key).toBe('a.*')
    expect((await api('GET', `${base}/a.%23`)).body.routing_key).toBe('a.#')
    expect((await api('GET', `${base}/with+space`)).body.routing_key).toBe('with space')
    expect((await api('GET', `${base}/with%20space`)).body.routing_key).toBe('with space')
    expect((await api('GET', `${base}/a%2Fb`)).body.routing_key).toBe('a/b')
    expect((await api('GET', `${base}/50%25`)).body.routing_key).toBe('50%')
    expect((await api('GET', `${base}/a.b`)).status).toBe(404)

    for (const path of ['a.%2A', 'a.%23', 'with%20space', 'a%2Fb', '50%25', '%2541', 'x%2By', '%C3%A9.%257E']) {
      const deleted = await api('DELETE', `${base}/${path}`)
      expect({ path, status: deleted.status }).toEqual({ path, status: 204 })
      expect((await api('DELETE', `${base}/${path}`)).status).toBe(404)
    }
    expect((await api('GET', base)).body).toEqual([])
    await api('DELETE', `/exchanges/%2F/${x}`)
    await api('DELETE', `/queues/%2F/${q}`)
  })

  test('a binding with arguments needs their hash; without it only the argument-less binding matches', async () => {
    const q = uniq('bka')
    await api('PUT', `/queues/%2F/${q}`, {})
    const base = `/bindings/%2F/e/amq.topic/q/${q}`
    await api('POST', base, { routing_key: 'k.*', arguments: { 'x-a': 1 } })
    const [binding] = (await api('GET', base)).body
    expect(binding.properties_key).toMatch(/^k\.%2A~/)
    expect((await api('GET', `${base}/k.%2A`)).status).toBe(404)
    const hash = binding.properties_key.split('~')[1]
    expect((await api('GET', `${base}/k.%2A~${hash}`)).body.arguments).toEqual({ 'x-a': 1 })
    expect((await api('DELETE', `${base}/k.%2A~${hash}`)).status).toBe(204)
    await api('DELETE', `/queues/%2F/${q}`)
  })
})

describe('users', () => {
  test('without-permissions lists the users with no permission anywhere', async () => {
    await addUser(api, 'wp-none', ['management'])
    await addUser(api, 'wp-some', ['management'], ['/'])
    const names = ((await api('GET', '/users/without-permissions')).body as { name: string }[]).map((u) => u.name)
    expect(names).toContain('wp-none')
    expect(names).not.toContain('wp-some')
    expect(names).not.toContain('guest')
  })

  test('bulk-delete deletes every user named, or none when one is missing', async () => {
    await addUser(api, 'bd-1', [])
    await addUser(api, 'bd-2', [], ['/'])
    const refused = await api('POST', '/users/bulk-delete', { users: ['bd-1', 'bd-missing'] })
    expect(refused).toMatchObject({ status: 400, body: { error: 'bad_request', reason: 'no_such_user: bd-missing' } })
    expect((await api('GET', '/users/bd-1')).status).toBe(200)
    expect((await api('POST', '/users/bulk-delete', { users: ['bd-1', 'bd-2'] })).status).toBe(204)
    expect((await api('GET', '/users/bd-1')).status).toBe(404)
    expect((await api('GET', '/users/bd-2')).status).toBe(404)
    expect((await api('GET', '/permissions')).body.some((p: { user: string }) => p.user === 'bd-2')).toBe(false)
    expect((await api('POST', '/users/bulk-delete', { users: 'bd-1' })).status).toBe(400)
  })
})

describe('per-vhost definitions', () => {
  test('GET /api/definitions/{vhost} exports one vhost without vhost fields; POST imports into another', async () => {
    await api('PUT', '/vhosts/defs-a', {})
    await api('PUT', '/vhosts/defs-b', {})
    await api('PUT', '/queues/defs-a/dq', { durable: true, arguments: { 'x-max-length': 5 } })
    await api('PUT', '/exchanges/defs-a/dx', { type: 'direct', durable: true })
    await api('POST', '/bindings/defs-a/e/dx/q/dq', { routing_key: 'rk' })
    const { status, body } = await api('GET', '/definitions/defs-a')
    expect(status).toBe(200)
    expect(body).toMatchObject({ parameters: [], policies: [], rabbit_version: expect.any(String) })
    expect(body.queues).toEqual([{ name: 'dq', durable: true, auto_delete: false, arguments: { 'x-max-length': 5 } }])
    expect(body.exchanges).toEqual([{ name: 'dx', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} }])
    expect(body.bindings).toEqual([{ source: 'dx', destination: 'dq', destination_type: 'queue', routing_key: 'rk', arguments: {} }])
    expect(body.users).toBeUndefined()

    expect((await api('POST', '/definitions/defs-b', body)).status).toBe(204)
    expect((await api('GET', '/queues/defs-b/dq')).body.arguments).toEqual({ 'x-max-length': 5 })
    expect((await api('GET', '/bindings/defs-b/e/dx/q/dq/rk')).status).toBe(200)
    expect((await api('GET', '/definitions/nowhere')).status).toBe(404)
    await api('DELETE', '/vhosts/defs-a')
    await api('DELETE', '/vhosts/defs-b')
  })
})

describe('AMQP clients', () => {
  let client: Conn | undefined

  afterAll(async () => {
    await closeQuietly(client?.conn)
  })

  test('overview message_stats: mandatory unroutable publishes are returned, others dropped', async () => {
    client = await amqplibConnect(broker.amqpUrl)
    const { ch } = await amqplibConfirmChannel(client.conn)
    const returned: Message[] = []
    ch.on('return', (m: Message) => returned.push(m))
    const before = (await api('GET', '/overview')).body.message_stats
    const publish = (key: string, mandatory: boolean): Promise<void> =>
      new Promise((resolve, reject) => ch.publish('', key, Buffer.from('x'), { mandatory }, (err) => (err ? reject(err) : resolve())))
    for (let i = 0; i < 3; i++) await publish(uniq('nowhere'), true)
    for (let i = 0; i < 2; i++) await publish(uniq('nowhere'), false)
    expect(returned).toHaveLength(3)
    const after = (await api('GET', '/overview')).body.message_stats
    expect(after.return_unroutable - (before.return_unroutable ?? 0)).toBe(3)
    expect(after.drop_unroutable - (before.drop_unroutable ?? 0)).toBe(2)
    expect(after.publish - (before.publish ?? 0)).toBe(5)
    expect(after.return_unroutable_details).toEqual({ rate: expect.any(Number) })
    const vhost = (await api('GET', '/vhosts/%2F')).body.message_stats
    expect(vhost.return_unroutable).toBe(after.return_unroutable)
  })

  test('a connection shows its negotiated limits and both ends: "peer -> local"', async () => {
    const conn = await amqplibConnect(`${broker.amqpUrl}?heartbeat=7&frameMax=16384&channelMax=99`)
    try {
      const stream = (conn.conn.connection as unknown as { stream: { localPort: number } }).stream
      const all = (await api('GET', '/connections')).body as Record<string, unknown>[]
      const mine = all.find((c) => c.peer_port === stream.localPort)!
      expect(mine).toMatchObject({
        name: `127.0.0.1:${stream.localPort} -> 127.0.0.1:${broker.amqpPort}`,
        host: '127.0.0.1',
        port: broker.amqpPort,
        peer_host: '127.0.0.1',
        timeout: 7,
        frame_max: 16384,
        channel_max: 99,
        recv_cnt: 0,
        send_cnt: 0,
        ssl_protocol: null,
      })
      const one = await api('GET', `/connections/${encodeURIComponent(mine.name as string)}`)
      expect(one.body).toMatchObject({ name: mine.name, timeout: 7, port: broker.amqpPort })
      const channel = await conn.conn.createChannel()
      expect((await api('GET', `/connections/${encodeURIComponent(mine.name as string)}/channels`)).body[0].name).toBe(`${mine.name} (1)`)
      await channel.close()
    } finally {
      await closeQuietly(conn.conn)
    }
  })
})
