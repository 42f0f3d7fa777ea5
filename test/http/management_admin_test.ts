// Administration over the management API: vhosts, users, permissions and definitions export
// and import, with every effect checked by real AMQP clients logging in and declaring.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { amqplibConnect, closeQuietly, consumeN, rejectsWithCode, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
})

afterAll(async () => {
  await broker?.stop()
})

/** An AMQP login that the broker refuses during the handshake, with `text` in amqplib's message. */
async function refused(url: string, text: string): Promise<void> {
  const error = await amqplibConnect(url).then(
    () => new Error('expected the connection to be refused'),
    (e: Error) => e,
  )
  expect(error.message).toContain(text)
}

const amqpUrl = (b: TestBroker, user: string, password: string, vhost = '/') =>
  `amqp://${user}:${password}@127.0.0.1:${b.amqpPort}/${encodeURIComponent(vhost)}`

describe('/api/vhosts', () => {
  test('PUT creates a vhost with metadata and grants its creator; PUT again updates (204)', async () => {
    const put = await api('PUT', '/vhosts/dev', { description: 'for devs', tags: 'a, b', default_queue_type: 'classic' })
    expect(put.status).toBe(201)
    const shown = (await api('GET', '/vhosts/dev')).body
    expect(shown).toMatchObject({
      name: 'dev',
      description: 'for devs',
      tags: ['a', 'b'],
      default_queue_type: 'classic',
      metadata: { description: 'for devs', tags: ['a', 'b'], default_queue_type: 'classic' },
      messages: 0,
      tracing: false,
    })
    expect((await api('GET', '/permissions/dev/guest')).body).toEqual({ user: 'guest', vhost: 'dev', configure: '.*', write: '.*', read: '.*' })
    expect((await api('PUT', '/vhosts/dev', { description: 'changed' })).status).toBe(204)
    expect((await api('GET', '/vhosts/dev')).body).toMatchObject({ description: 'changed', tags: ['a', 'b'] })
    const c = await amqplibConnect(amqpUrl(broker, 'guest', 'guest', 'dev'))
    await closeQuietly(c.conn)
    expect((await api('GET', '/vhosts')).body.map((v: { name: string }) => v.name)).toEqual(['/', 'dev'])
  })

  test('DELETE closes its connections (CONNECTION_FORCED), drops its queues; then 404', async () => {
    expect((await api('PUT', '/vhosts/gone', {})).status).toBe(201)
    const c = await amqplibConnect(amqpUrl(broker, 'guest', 'guest', 'gone'))
    const ch = await c.conn.createChannel()
    await ch.assertQueue('q-in-gone')
    expect((await api('DELETE', '/vhosts/gone')).status).toBe(204)
    expect((await c.watch.closed)?.message).toContain("CONNECTION_FORCED - vhost 'gone' is deleted")
    expect((await api('GET', '/vhosts/gone')).status).toBe(404)
    expect((await api('DELETE', '/vhosts/gone')).status).toBe(404)
    expect((await api('GET', '/queues')).body.some((q: { vhost: string }) => q.vhost === 'gone')).toBe(false)
    expect((await api('GET', '/permissions')).body.some((p: { vhost: string }) => p.vhost === 'gone')).toBe(false)
  })

  test('bad bodies are 400 naming the field', async () => {
    expect((await api('PUT', '/vhosts/bad', { tags: 5 })).body.reason).toStartWith('tags:')
    expect((await api('PUT', '/vhosts/bad', { default_queue_type: 'weird' })).body.reason).toStartWith('default_queue_type:')
    expect((await api('GET', '/vhosts/bad')).status).toBe(404)
  })
})

describe('/api/users and /api/permissions', () => {
  test('a user created over HTTP logs in over AMQP once it has permissions, and not after', async () => {
    expect((await api('PUT', '/users/alice', { password: 'alice-pw', tags: 'management,monitoring' })).status).toBe(201)
    const alice = (await api('GET', '/users/alice')).body
    expect(alice).toMatchObject({ name: 'alice', tags: ['management', 'monitoring'], hashing_algorithm: 'rabbit_password_hashing_sha256', limits: {} })
    expect(alice.password_hash).toMatch(/^[A-Za-z0-9+/]+=*$/)
    // No permissions yet: the vhost is refused.
    await refused(amqpUrl(broker, 'alice', 'alice-pw'), 'ConnectionClose')
    expect((await api('PUT', '/permissions/%2F/alice', { configure: '.*', write: '.*', read: '.*' })).status).toBe(201)
    expect((await api('PUT', '/permissions/%2F/alice', { configure: '^a', write: '.*', read: '.*' })).status).toBe(204)
    const c = await amqplibConnect(amqpUrl(broker, 'alice', 'alice-pw'))
    const ch = await c.conn.createChannel()
    ch.on('error', () => {})
    await ch.assertQueue('alice-q')
    await rejectsWithCode(ch.assertQueue('bob-q'), 403, "configure access to queue 'bob-q' in vhost '/' refused for user 'alice'")
    await closeQuietly(c.conn)
    expect((await api('GET', '/users/alice/permissions')).body).toEqual([{ user: 'alice', vhost: '/', configure: '^a', write: '.*', read: '.*' }])
    expect((await api('GET', '/vhosts/%2F/permissions')).body.map((p: { user: string }) => p.user).sort()).toEqual(['alice', 'guest'])
    expect((await api('DELETE', '/permissions/%2F/alice')).status).toBe(204)
    expect((await api('DELETE', '/permissions/%2F/alice')).status).toBe(404)
    await refused(amqpUrl(broker, 'alice', 'alice-pw'), 'ConnectionClose')
  })

  test('password_hash from another user logs in with that user\'s password; tags as a list', async () => {
    await api('PUT', '/users/src', { password: 'shared-secret', tags: [] })
    const hash = (await api('GET', '/users/src')).body.password_hash
    expect((await api('PUT', '/users/copy', { password_hash: hash, tags: ['management'] })).status).toBe(201)
    await api('PUT', '/permissions/%2F/copy', { configure: '.*', write: '.*', read: '.*' })
    const c = await amqplibConnect(amqpUrl(broker, 'copy', 'shared-secret'))
    await closeQuietly(c.conn)
    // Replacing the user without a password locks password login.
    expect((await api('PUT', '/users/copy', { tags: 'management' })).status).toBe(204)
    await refused(amqpUrl(broker, 'copy', 'shared-secret'), '403 (ACCESS-REFUSED)')
  })

  test('DELETE removes the user and their permissions', async () => {
    await api('PUT', '/users/temp', { password: 't' })
    await api('PUT', '/permissions/%2F/temp', { configure: '', write: '', read: '' })
    expect((await api('DELETE', '/users/temp')).status).toBe(204)
    expect((await api('GET', '/users/temp')).status).toBe(404)
    expect((await api('GET', '/permissions/%2F/temp')).status).toBe(404)
    expect((await api('DELETE', '/users/temp')).status).toBe(404)
  })

  test('errors: 400 naming the field, 404 for a missing user or vhost', async () => {
    expect((await api('PUT', '/users/e', { password: 'a', password_hash: 'b' })).status).toBe(400)
    expect((await api('PUT', '/users/e', { password_hash: 'not base64!' })).body.reason).toStartWith('password_hash:')
    expect((await api('PUT', '/users/e', { password: 5 })).body.reason).toStartWith('password:')
    const algorithm = await api('PUT', '/users/e', { password: 'a', hashing_algorithm: 'rabbit_password_hashing_md5' })
    expect(algorithm).toMatchObject({ status: 400, body: { reason: "unsupported hashing algorithm 'rabbit_password_hashing_md5'" } })
    expect((await api('GET', '/users/e')).status).toBe(404)
    expect((await api('PUT', '/permissions/%2F/guest', { configure: '(', write: '.*', read: '.*' })).body.reason).toStartWith('configure:')
    expect((await api('PUT', '/permissions/%2F/guest', { configure: '.*', read: '.*' })).body.reason).toStartWith('write:')
    expect(await api('PUT', '/permissions/%2F/nobody', { configure: '.*', write: '.*', read: '.*' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', reason: "user 'nobody' not found" },
    })
    expect((await api('PUT', '/permissions/nowhere/guest', { configure: '.*', write: '.*', read: '.*' })).status).toBe(404)
    expect((await api('GET', '/permissions/%2F/nobody')).status).toBe(404)
  })
})

describe('/api/definitions', () => {
  test('export, then import into a fresh broker: topology, users and permissions work there over AMQP', async () => {
    const q = uniq('defq')
    const x = uniq('defx')
    await api('PUT', `/queues/%2F/${q}`, { durable: true, arguments: { 'x-max-length': 100 } })
    await api('PUT', `/exchanges/%2F/${x}`, { type: 'topic', durable: true })
    await api('POST', `/bindings/%2F/e/${x}/q/${q}`, { routing_key: 'a.#' })
    await api('PUT', '/users/porter', { password: 'porter-pw', tags: 'management' })
    await api('PUT', '/permissions/%2F/porter', { configure: '.*', write: '.*', read: '.*' })
    const holder = await amqplibConnect(broker.amqpUrl)
    await (await holder.conn.createChannel()).assertQueue('', { exclusive: true })

    const exported = (await api('GET', '/definitions')).body
    expect(exported).toMatchObject({ rabbit_version: expect.any(String), product_name: 'Warren', topic_permissions: [], policies: [], parameters: [] })
    expect(exported.queues).toContainEqual({ name: q, vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 100 } })
    expect(exported.queues.some((e: { name: string }) => e.name.startsWith('amq.gen'))).toBe(false)
    expect(exported.exchanges).toEqual([{ name: x, vhost: '/', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }])
    expect(exported.bindings).toEqual([
      { source: x, vhost: '/', destination: q, destination_type: 'queue', routing_key: 'a.#', arguments: {} },
    ])
    expect(exported.users.map((u: { name: string }) => u.name)).toContain('porter')
    expect(exported.vhosts.map((v: { name: string }) => v.name)).toContain('/')
    await closeQuietly(holder.conn)

    const fresh = await startBroker()
    try {
      const freshApi = apiFor(fresh)
      expect((await freshApi('POST', '/definitions', exported)).status).toBe(204)
      // Importing the same definitions again changes nothing.
      expect((await freshApi('POST', '/definitions', exported)).status).toBe(204)
      const c = await amqplibConnect(amqpUrl(fresh, 'porter', 'porter-pw'))
      const ch = await c.conn.createChannel()
      await ch.checkExchange(x)
      ch.publish(x, 'a.b', Buffer.from('through imported binding'))
      await waitForDepth(ch, q, 1)
      const [msg] = await consumeN(ch, q, 1, { noAck: true })
      expect(msg?.content.toString()).toBe('through imported binding')
      await closeQuietly(c.conn)
    } finally {
      await fresh.stop()
    }
  })

  test('RabbitMQ\'s own format imports: tags as a string, vhost metadata, unknown categories ignored', async () => {
    const fresh = await startBroker()
    try {
      const freshApi = apiFor(fresh)
      const hash = (await api('GET', '/users/guest')).body.password_hash
      const definitions = {
        rabbit_version: '3.13.7',
        users: [{ name: 'ops', password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: 'administrator', limits: {} }],
        vhosts: [{ name: 'prod', metadata: { description: 'production', tags: ['x'] } }],
        permissions: [{ user: 'ops', vhost: 'prod', configure: '.*', write: '.*', read: '.*' }],
        policies: [{ vhost: 'prod', name: 'p', pattern: '.*', definition: { 'ha-mode': 'all' } }],
        queues: [{ name: 'orders', vhost: 'prod', durable: true, auto_delete: false, arguments: {}, type: 'classic' }],
        exchanges: [{ name: 'amq.direct', vhost: 'prod', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} }],
        bindings: [],
      }
      expect((await freshApi('POST', '/definitions', definitions)).status).toBe(204)
      expect((await freshApi('GET', '/vhosts/prod')).body).toMatchObject({ description: 'production', tags: ['x'] })
      const c = await amqplibConnect(amqpUrl(fresh, 'ops', 'guest', 'prod'))
      expect((await (await c.conn.createChannel()).checkQueue('orders')).queue).toBe('orders')
      await closeQuietly(c.conn)
    } finally {
      await fresh.stop()
    }
  })

  test('bad definitions are 400 naming the field; a missing vhost is 404', async () => {
    const bad = await api('POST', '/definitions', { queues: [{ name: 5, vhost: '/' }] })
    expect(bad).toMatchObject({ status: 400, body: { error: 'bad_request' } })
    expect(bad.body.reason).toStartWith('queues.0.name:')
    expect((await api('POST', '/definitions', '[1,')).status).toBe(400)
    const noVhost = await api('POST', '/definitions', { queues: [{ name: 'q', vhost: 'nowhere', durable: true, auto_delete: false, arguments: {} }] })
    expect(noVhost).toMatchObject({ status: 404, body: { reason: "vhost 'nowhere' not found" } })
  })
})
