// HTTP publish with real fetch: RabbitMQ's POST /api/exchanges/{vhost}/{name}/publish body and
// answer, the raw-body POST /api/topics/{vhost}/{topic...} form, and every error answer. What
// was published is checked with a real AMQP consumer (amqplib).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel } from 'amqplib'
import { amqplibConnect, closeQuietly, consumeN, uniq } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { GUEST_AUTH } from './sse_client.ts'

const MAX_MESSAGE = 4096

let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker({ maxMessageSize: MAX_MESSAGE })
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
  broker.server.broker.users.add('reader', 'readerpw', [])
  broker.server.broker.permissions.set('/', 'reader', { configure: '', write: '', read: '.*' })
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

function publish(path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${broker.httpUrl}${path}`, {
    method: 'POST',
    headers: { Authorization: GUEST_AUTH, 'Content-Type': 'application/json', ...headers },
    body,
  })
}

async function answer(response: Response): Promise<[number, unknown]> {
  return [response.status, await response.json()]
}

/** A queue bound to amq.topic with `key`, deleted with the connection. */
async function topicQueue(key: string): Promise<string> {
  const { queue } = await ch.assertQueue('', { exclusive: true })
  await ch.bindQueue(queue, 'amq.topic', key)
  return queue
}

describe('POST /api/exchanges/{vhost}/{exchange}/publish', () => {
  test('publishes RabbitMQ’s body with its properties and answers {"routed": true}', async () => {
    const queue = await topicQueue('orders.created')
    const body = {
      properties: { content_type: 'application/json', headers: { tenant: 'acme', n: 3 }, delivery_mode: 2, priority: 4, message_id: 'm-1', app_id: 'web' },
      routing_key: 'orders.created',
      payload: '{"id":1}',
      payload_encoding: 'string',
    }
    expect(await answer(await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify(body)))).toEqual([200, { routed: true }])
    const [m] = await consumeN(ch, queue, 1)
    expect(m!.content.toString()).toBe('{"id":1}')
    expect(m!.fields.exchange).toBe('amq.topic')
    expect(m!.fields.routingKey).toBe('orders.created')
    expect(m!.properties).toMatchObject({ contentType: 'application/json', deliveryMode: 2, priority: 4, messageId: 'm-1', appId: 'web' })
    expect(m!.properties.headers).toEqual({ tenant: 'acme', n: 3 })
  })

  test('payload_encoding base64 publishes the decoded bytes', async () => {
    const queue = await topicQueue('bin.x')
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255])
    const payload = Buffer.from(bytes).toString('base64')
    const response = await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify({ properties: {}, routing_key: 'bin.x', payload, payload_encoding: 'base64' }))
    expect(await answer(response)).toEqual([200, { routed: true }])
    const [m] = await consumeN(ch, queue, 1)
    expect([...m!.content]).toEqual([...bytes])
  })

  test('an unroutable message answers {"routed": false}', async () => {
    const response = await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify({ properties: {}, routing_key: uniq('nobody'), payload: 'x', payload_encoding: 'string' }))
    expect(await answer(response)).toEqual([200, { routed: false }])
  })

  test('amq.default is the default exchange: the routing key names the queue', async () => {
    const { queue } = await ch.assertQueue(uniq('direct'), { exclusive: true })
    const response = await publish('/api/exchanges/%2F/amq.default/publish', JSON.stringify({ properties: {}, routing_key: queue, payload: 'to the queue', payload_encoding: 'string' }))
    expect(await answer(response)).toEqual([200, { routed: true }])
    expect((await consumeN(ch, queue, 1))[0]!.content.toString()).toBe('to the queue')
  })

  test('bad JSON is 400 bad_request', async () => {
    const [status, body] = await answer(await publish('/api/exchanges/%2F/amq.topic/publish', '{"routing_key": '))
    expect(status).toBe(400)
    expect(body).toMatchObject({ error: 'bad_request' })
  })

  test('a missing or mistyped field is 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ payload: 'x' }, 'routing_key'],
      [{ routing_key: 'k' }, 'payload'],
      [{ routing_key: 'k', payload: 'x', payload_encoding: 'rot13' }, 'payload_encoding'],
      [{ routing_key: 'k', payload: 'x', properties: { delivery_mode: 'two' } }, 'properties.delivery_mode'],
      [{ routing_key: 'k', payload: '***', payload_encoding: 'base64' }, 'payload'],
    ]
    for (const [body, field] of cases) {
      const [status, answerBody] = await answer(await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify(body)))
      expect(status).toBe(400)
      expect((answerBody as { reason: string }).reason.startsWith(`${field}:`)).toBe(true)
    }
  })

  // RabbitMQ publishes on a channel and answers its close as 400 (cowboy lets a POST through to
  // a missing resource): rabbit_mgmt_util:with_channel.
  test('an unknown exchange is 400 carrying the channel error, as RabbitMQ answers it', async () => {
    const response = await publish('/api/exchanges/%2F/no-such-exchange/publish', JSON.stringify({ properties: {}, routing_key: 'k', payload: 'x', payload_encoding: 'string' }))
    expect(await answer(response)).toEqual([400, { error: 'bad_request', reason: "404 NOT_FOUND - no exchange 'no-such-exchange' in vhost '/'" }])
  })

  test('an unknown vhost is 404', async () => {
    const response = await publish('/api/exchanges/nowhere/amq.topic/publish', JSON.stringify({ properties: {}, routing_key: 'k', payload: 'x', payload_encoding: 'string' }))
    expect(await answer(response)).toEqual([404, { error: 'not_found', reason: "vhost 'nowhere' not found" }])
  })

  test('no credentials or a wrong password is 401; no write permission is the channel error 403 in a 400', async () => {
    const body = JSON.stringify({ properties: {}, routing_key: 'k', payload: 'x', payload_encoding: 'string' })
    expect((await publish('/api/exchanges/%2F/amq.topic/publish', body, { Authorization: '' })).status).toBe(401)
    const wrong = await publish('/api/exchanges/%2F/amq.topic/publish', body, { Authorization: `Basic ${btoa('guest:wrong')}` })
    expect(await answer(wrong)).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
    const reader = await publish('/api/exchanges/%2F/amq.topic/publish', body, { Authorization: `Basic ${btoa('reader:readerpw')}` })
    expect(await answer(reader)).toEqual([
      400,
      { error: 'bad_request', reason: "403 ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost '/' refused for user 'reader'" },
    ])
  })

  test('a payload over maxMessageSize is 400 with the channel error, and the broker keeps serving', async () => {
    const payload = 'x'.repeat(MAX_MESSAGE + 1)
    const [status, body] = await answer(await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify({ properties: {}, routing_key: 'k', payload, payload_encoding: 'string' })))
    expect(status).toBe(400)
    expect((body as { reason: string }).reason).toBe(`406 PRECONDITION_FAILED - message size ${MAX_MESSAGE + 1} is larger than configured max size ${MAX_MESSAGE}`)
    const ok = await publish('/api/exchanges/%2F/amq.topic/publish', JSON.stringify({ properties: {}, routing_key: 'k', payload: 'x', payload_encoding: 'string' }))
    expect(ok.status).toBe(200)
  })

  test('a body over the HTTP body limit is 413', async () => {
    const response = await publish('/api/exchanges/%2F/amq.topic/publish', 'x'.repeat(2 * 1024 * 1024))
    expect(response.status).toBe(413)
  })
})

describe('POST /api/topics/{vhost}/{topic...}', () => {
  test('publishes the raw body to amq.topic under the topic’s routing key, keeping the content type', async () => {
    const queue = await topicQueue('sensors.kitchen.temp')
    const response = await publish('/api/topics/%2F/sensors/kitchen/temp', '21.5', { 'Content-Type': 'text/plain; charset=utf-8' })
    expect(await answer(response)).toEqual([200, { routed: true }])
    const [m] = await consumeN(ch, queue, 1)
    expect(m!.content.toString()).toBe('21.5')
    expect(m!.fields.routingKey).toBe('sensors.kitchen.temp')
    expect(m!.properties.contentType).toBe('text/plain; charset=utf-8')
  })

  test('binary bodies arrive byte for byte', async () => {
    const queue = await topicQueue('dev.blob')
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff)
    expect(await answer(await publish('/api/topics/%2F/dev/blob', bytes, { 'Content-Type': 'application/octet-stream' }))).toEqual([200, { routed: true }])
    const [m] = await consumeN(ch, queue, 1)
    expect(Buffer.compare(m!.content, Buffer.from(bytes))).toBe(0)
  })

  test('no subscriber: {"routed": false}; a wildcard in the topic: 400', async () => {
    expect(await answer(await publish(`/api/topics/%2F/${uniq('empty')}/x`, 'v'))).toEqual([200, { routed: false }])
    const [status] = await answer(await publish('/api/topics/%2F/a/%2B/b', 'v'))
    expect(status).toBe(400)
  })

  test('errors: unknown vhost 404, no credentials 401, a body over maxMessageSize 400', async () => {
    expect((await publish('/api/topics/nowhere/a/b', 'v')).status).toBe(404)
    expect((await publish('/api/topics/%2F/a/b', 'v', { Authorization: '' })).status).toBe(401)
    expect((await publish('/api/topics/%2F/a/b', new Uint8Array(MAX_MESSAGE + 1))).status).toBe(400)
  })
})
