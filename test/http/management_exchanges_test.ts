// The management API's exchange and binding endpoints against a real broker: declare, show
// and delete exchanges, create and remove bindings by their properties key, each effect
// cross-checked over AMQP (amqplib), and the error answers.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel } from 'amqplib'
import { amqplibConnect, closeQuietly, type Conn, consumeN, rejectsWithCode, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api
let client: Conn
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
  client = await amqplibConnect(broker.amqpUrl)
  ch = await client.conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(client?.conn)
  await broker?.stop()
})

async function spareChannel(): Promise<Channel> {
  const spare = await client.conn.createChannel()
  spare.on('error', () => {})
  return spare
}

describe('/api/exchanges', () => {
  test('lists the predeclared exchanges of "/" including the default one', async () => {
    const list = await api('GET', '/exchanges/%2F')
    expect(list.status).toBe(200)
    const names = (list.body as { name: string }[]).map((x) => x.name)
    expect(names).toEqual(['', 'amq.direct', 'amq.fanout', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace', 'amq.topic'])
    const all = await api('GET', '/exchanges')
    expect(all.body.length).toBeGreaterThanOrEqual(7)
  })

  test('amq.default in the path is the default exchange', async () => {
    const x = await api('GET', '/exchanges/%2F/amq.default')
    expect(x.body).toMatchObject({ name: '', vhost: '/', type: 'direct', durable: true, internal: false, arguments: {} })
  })

  test('PUT declares (201, then 204); AMQP sees it with its type; DELETE removes it', async () => {
    const name = uniq('x')
    const put = await api('PUT', `/exchanges/%2F/${name}`, { type: 'topic', durable: 'true', arguments: { 'alternate-exchange': 'amq.fanout' } })
    expect(put.status).toBe(201)
    expect((await api('PUT', `/exchanges/%2F/${name}`, { type: 'topic', durable: true, arguments: { 'alternate-exchange': 'amq.fanout' } })).status).toBe(204)
    await ch.checkExchange(name)
    const shown = await api('GET', `/exchanges/%2F/${name}`)
    expect(shown.body).toMatchObject({ name, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: { 'alternate-exchange': 'amq.fanout' } })
    // Same type over AMQP is an equivalent redeclare; another type is not.
    await ch.assertExchange(name, 'topic', { durable: true, arguments: { 'alternate-exchange': 'amq.fanout' } })
    await rejectsWithCode((await spareChannel()).assertExchange(name, 'direct', { durable: true }), 406, 'PRECONDITION_FAILED')
    expect((await api('DELETE', `/exchanges/%2F/${name}`)).status).toBe(204)
    await rejectsWithCode((await spareChannel()).checkExchange(name), 404)
    expect((await api('DELETE', `/exchanges/%2F/${name}`)).status).toBe(404)
    expect((await api('GET', `/exchanges/%2F/${name}`)).status).toBe(404)
  })

  test('errors: unknown type 400, system exchanges 403, bad flags 400, if-unused 400', async () => {
    const unknown = await api('PUT', `/exchanges/%2F/${uniq('x')}`, { type: 'weird' })
    expect(unknown.body).toEqual({ error: 'bad_request', reason: "unknown exchange type 'weird'" })
    const system = await api('DELETE', '/exchanges/%2F/amq.direct')
    expect(system).toMatchObject({ status: 403, body: { error: 'not_authorised', reason: "deletion of system exchange 'amq.direct' in vhost '/' not allowed" } })
    const reserved = await api('PUT', '/exchanges/%2F/amq.new', { type: 'direct' })
    expect(reserved.status).toBe(403)
    const badFlag = await api('PUT', `/exchanges/%2F/${uniq('x')}`, { type: 'direct', internal: 'yes' })
    expect(badFlag.status).toBe(400)
    expect(badFlag.body.reason).toStartWith('internal:')
    const used = uniq('used')
    await ch.assertExchange(used, 'fanout')
    await ch.assertQueue(used)
    await ch.bindQueue(used, used, '')
    expect(await api('DELETE', `/exchanges/%2F/${used}?if-unused=true`)).toMatchObject({
      status: 400,
      body: { reason: `exchange '${used}' in vhost '/' in use` },
    })
    expect((await api('PUT', '/exchanges/nowhere/x', { type: 'direct' })).status).toBe(404)
  })

  test('an exchange\'s bindings as source and as destination', async () => {
    const a = uniq('src')
    const b = uniq('dst')
    await ch.assertExchange(a, 'direct')
    await ch.assertExchange(b, 'fanout')
    await ch.bindExchange(b, a, 'k')
    const source = await api('GET', `/exchanges/%2F/${a}/bindings/source`)
    expect(source.body).toEqual([{ source: a, vhost: '/', destination: b, destination_type: 'exchange', routing_key: 'k', arguments: {}, properties_key: 'k' }])
    const destination = await api('GET', `/exchanges/%2F/${b}/bindings/destination`)
    expect(destination.body).toEqual(source.body)
  })
})

describe('/api/bindings', () => {
  test('POST e/q creates a binding (201 + Location) that routes AMQP publishes; DELETE by key removes it', async () => {
    const q = uniq('bq')
    await ch.assertQueue(q)
    const post = await api('POST', `/bindings/%2F/e/amq.direct/q/${q}`, { routing_key: 'to me', arguments: {} })
    expect(post.status).toBe(201)
    expect(post.headers.get('location')).toBe(`${q}/to%2Bme`)
    ch.publish('amq.direct', 'to me', Buffer.from('routed'))
    await waitForDepth(ch, q, 1)
    const list = await api('GET', `/bindings/%2F/e/amq.direct/q/${q}`)
    expect(list.body).toEqual([
      { source: 'amq.direct', vhost: '/', destination: q, destination_type: 'queue', routing_key: 'to me', arguments: {}, properties_key: 'to+me' },
    ])
    const one = await api('GET', `/bindings/%2F/e/amq.direct/q/${q}/to%2Bme`)
    expect(one.body.routing_key).toBe('to me')
    expect((await api('DELETE', `/bindings/%2F/e/amq.direct/q/${q}/to%2Bme`)).status).toBe(204)
    expect((await api('GET', `/bindings/%2F/e/amq.direct/q/${q}/to%2Bme`)).status).toBe(404)
    expect((await api('DELETE', `/bindings/%2F/e/amq.direct/q/${q}/to%2Bme`)).status).toBe(404)
    ch.publish('amq.direct', 'to me', Buffer.from('dropped'))
    const [msg] = await consumeN(ch, q, 1, { noAck: true })
    expect(msg?.content.toString()).toBe('routed')
  })

  test('bindings with arguments get "key~hash" properties keys, and the empty key is "~"', async () => {
    const q = uniq('hq')
    await ch.assertQueue(q)
    await api('POST', `/bindings/%2F/e/amq.headers/q/${q}`, { arguments: { 'x-match': 'all', kind: 'a' } })
    await api('POST', `/bindings/%2F/e/amq.fanout/q/${q}`, {})
    const headers = (await api('GET', `/bindings/%2F/e/amq.headers/q/${q}`)).body[0]
    expect(headers.properties_key).toMatch(/^~[A-Za-z0-9_-]{6}$/)
    expect(headers.arguments).toEqual({ 'x-match': 'all', kind: 'a' })
    expect((await api('GET', `/bindings/%2F/e/amq.headers/q/${q}/${encodeURIComponent(headers.properties_key)}`)).status).toBe(200)
    const fanout = (await api('GET', `/bindings/%2F/e/amq.fanout/q/${q}`)).body[0]
    expect(fanout.properties_key).toBe('~')
    ch.publish('amq.headers', '', Buffer.from('h'), { headers: { kind: 'a' } })
    await waitForDepth(ch, q, 1)
  })

  test('POST e/e binds exchanges', async () => {
    const x = uniq('ee')
    const q = uniq('eeq')
    await ch.assertExchange(x, 'fanout')
    await ch.assertQueue(q)
    await ch.bindQueue(q, x, '')
    expect((await api('POST', `/bindings/%2F/e/amq.topic/e/${x}`, { routing_key: 'a.*' })).status).toBe(201)
    ch.publish('amq.topic', 'a.b', Buffer.from('via e2e'))
    await waitForDepth(ch, q, 1)
  })

  test('lists every binding of a vhost with the default ones; pagination works here too', async () => {
    const all = await api('GET', '/bindings/%2F')
    expect(all.status).toBe(200)
    expect(all.body.some((b: { source: string }) => b.source === '')).toBe(true)
    const page = await api('GET', '/bindings?page=1&page_size=2')
    expect(page.body.items.length).toBe(2)
    expect(page.body.total_count).toBe(all.body.length)
  })

  test('errors: missing ends 404, default exchange 403, bad body 400', async () => {
    const q = uniq('eq')
    await ch.assertQueue(q)
    expect((await api('POST', `/bindings/%2F/e/no-such-x/q/${q}`, {})).status).toBe(404)
    expect((await api('POST', '/bindings/%2F/e/amq.direct/q/no-such-q', {})).status).toBe(404)
    expect((await api('GET', '/bindings/nowhere')).status).toBe(404)
    const dflt = await api('POST', `/bindings/%2F/e/amq.default/q/${q}`, { routing_key: 'x' })
    expect(dflt).toMatchObject({ status: 403, body: { reason: 'operation not permitted on the default exchange' } })
    const bad = await api('POST', `/bindings/%2F/e/amq.direct/q/${q}`, { routing_key: 7 })
    expect(bad.status).toBe(400)
    expect(bad.body.reason).toStartWith('routing_key:')
  })
})
