// Live subscriptions over Server-Sent Events with a real EventSource client: MQTT-style filters
// and AMQP binding keys, the event format, heartbeats, the subscription queue's life, errors, and
// the bounded memory a client that stops reading costs.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Channel, ChannelModel } from 'amqplib'
import { amqplibConnect, closeQuietly, uniq } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll } from '../helpers/mqtt.ts'
import { waitFor } from '../helpers/wait.ts'
import { GUEST_AUTH, readUntil, SseClient } from './sse_client.ts'

const LIVE_QUEUE_LIMIT = 50

let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker({ sseHeartbeatMs: 50, sseLiveQueueLimit: LIVE_QUEUE_LIMIT })
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

function publishTopic(topic: string, body: string | Uint8Array, contentType = 'text/plain'): Promise<Response> {
  return fetch(`${broker.httpUrl}/api/topics/%2F/${topic}`, {
    method: 'POST',
    headers: { Authorization: GUEST_AUTH, 'Content-Type': contentType },
    body,
  })
}

/** Whether `queue` is bound to amq.topic with `key`. */
function queueBoundTo(queue: string, key: string): boolean {
  return broker.server.broker.management.bindings('/').some((b) => b.destination === queue && b.routingKey === key)
}

function liveQueues(): string[] {
  return broker.server.broker.management
    .queues('/')
    .filter((q) => q.exclusive && q.name.startsWith('amq.gen-'))
    .map((q) => q.name)
}

describe('GET /api/sse/{vhost} (live subscription)', () => {
  test('an MQTT-style filter receives matching topics as JSON events with ids, and nothing else', async () => {
    const root = uniq('live')
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/%2B/temp`)
    try {
      const about = await client.opened()
      expect(about).toMatchObject({ exchange: 'amq.topic', binding_keys: [`${root}.*.temp`] })
      await publishTopic(`${root}/kitchen/temp`, '21')
      await publishTopic(`${root}/kitchen/humidity`, '40')
      await publishTopic(`${root}/hall/temp`, '19')
      const [first, second] = await client.received(2)
      expect(first).toEqual({
        id: '1',
        data: {
          exchange: 'amq.topic',
          routing_key: `${root}.kitchen.temp`,
          topic: `${root}/kitchen/temp`,
          properties: { content_type: 'text/plain' },
          payload: '21',
          payload_encoding: 'string',
          redelivered: false,
        },
      })
      expect(second!.id).toBe('2')
      expect(second!.data.topic).toBe(`${root}/hall/temp`)
      // A message published after the others proves the humidity one was never sent.
      await publishTopic(`${root}/x/temp`, 'fence')
      await client.received(3)
      expect(client.payloads).toEqual(['21', '19', 'fence'])
    } finally {
      client.close()
    }
  })

  test('a dotted topic stays one level, as for an MQTT subscription to the same filter (mqttTopicDotEscaping default)', async () => {
    const root = uniq('dotted')
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/%2B/x`)
    const split = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/v1/2/x`)
    const mqttSub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const mqttPub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await Promise.all([client.opened(), split.opened()])
      await mqttSub.subscribe(`${root}/+/x`, { qos: 1 })
      await publishTopic(`${root}/v1.2/x`, 'from-http')
      await mqttPub.publish(`${root}/v1.2/x`, 'from-mqtt', { qos: 1 })
      const events = await client.received(2)
      expect(events.map((e) => [e.data.payload, e.data.topic, e.data.routing_key])).toEqual([
        ['from-http', `${root}/v1.2/x`, `${root}.v1%2E2.x`],
        ['from-mqtt', `${root}/v1.2/x`, `${root}.v1%2E2.x`],
      ])
      // The MQTT subscription to the same filter saw the same two messages under the same topic.
      const got = await mqttSub.waitMessages(2, `${root}/v1.2/x`)
      expect(got.map((m) => m.text)).toEqual(['from-http', 'from-mqtt'])
      // Neither reached the filter that splits the dotted level.
      await publishTopic(`${root}/v1/2/x`, 'fence')
      await split.received(1)
      expect(split.payloads).toEqual(['fence'])
    } finally {
      client.close()
      split.close()
      await endAll(mqttSub, mqttPub)
    }
  })

  test("with mqttTopicDotEscaping false SSE filters follow RabbitMQ's lossy mapping, like MQTT", async () => {
    const lossy = await startBroker({ mqttTopicDotEscaping: false })
    const root = uniq('lossy')
    const client = new SseClient(`${lossy.httpUrl}/api/sse/%2F?filter=${root}/v1/2/x`)
    try {
      await client.opened()
      const response = await fetch(`${lossy.httpUrl}/api/topics/%2F/${root}/v1.2/x`, { method: 'POST', headers: { Authorization: GUEST_AUTH }, body: 'split' })
      expect(response.status).toBe(200)
      const [event] = await client.received(1)
      expect([event!.data.payload, event!.data.topic, event!.data.routing_key]).toEqual(['split', `${root}/v1/2/x`, `${root}.v1.2.x`])
    } finally {
      client.close()
      await lossy.stop()
    }
  })

  test('several filters and binding keys combine; # alone subscribes to everything under it', async () => {
    const root = uniq('multi')
    const url = `${broker.httpUrl}/api/sse/%2F?filter=${root}/a/%23&binding_key=${root}.b.*`
    const client = new SseClient(url)
    try {
      await client.opened()
      await publishTopic(`${root}/a/1/2`, 'a-deep')
      await publishTopic(`${root}/b/1`, 'b-one')
      await publishTopic(`${root}/b/1/2`, 'b-deep')
      await publishTopic(`${root}/a`, 'a-root')
      await client.received(3)
      expect(client.payloads).toEqual(['a-deep', 'b-one', 'a-root'])
    } finally {
      client.close()
    }
  })

  test('a binding key on a chosen exchange (fanout, direct) and binary payloads as base64', async () => {
    const exchange = uniq('fan')
    await ch.assertExchange(exchange, 'fanout', { autoDelete: false })
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F?exchange=${exchange}`)
    const forced = new SseClient(`${broker.httpUrl}/api/sse/%2F?exchange=${exchange}&payload_encoding=base64`)
    try {
      await client.opened()
      await forced.opened()
      ch.publish(exchange, 'any', Buffer.from([0xff, 0xfe, 0x00]), { contentType: 'application/octet-stream', headers: { h: 1 } })
      ch.publish(exchange, 'any', Buffer.from('text'))
      const [binary, text] = await client.received(2)
      expect(binary!.data).toMatchObject({
        exchange,
        routing_key: 'any',
        payload: '//4A',
        payload_encoding: 'base64',
        properties: { content_type: 'application/octet-stream', headers: { h: 1 } },
      })
      expect(text!.data).toMatchObject({ payload: 'text', payload_encoding: 'string' })
      const [, forcedText] = await forced.received(2)
      expect(forcedText!.data).toMatchObject({ payload: 'dGV4dA==', payload_encoding: 'base64' })
    } finally {
      client.close()
      forced.close()
      await ch.deleteExchange(exchange)
    }
  })

  test('heartbeat comments arrive on an idle stream', async () => {
    const response = await fetch(`${broker.httpUrl}/api/sse/%2F?filter=${uniq('idle')}`, { headers: { Authorization: GUEST_AUTH } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toStartWith('text/event-stream')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    const text = await readUntil(response, (t) => t.includes(': ping\n\n'))
    expect(text).toStartWith('retry: ')
  })

  test('the subscription queue lives exactly as long as the stream', async () => {
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${uniq('life')}`)
    const about = await client.opened()
    expect(liveQueues()).toContain(about.queue as string)
    client.close()
    await waitFor(() => !liveQueues().includes(about.queue as string), { message: 'the subscription queue to go' })
  })

  test('errors come before the stream: bad filter 400, unknown exchange 404, unknown vhost 404, no login 401', async () => {
    const get = (path: string, headers: Record<string, string> = { Authorization: GUEST_AUTH }) =>
      fetch(`${broker.httpUrl}${path}`, { headers }).then(async (r) => [r.status, await r.json()] as const)
    const [badFilter, badFilterBody] = await get('/api/sse/%2F?filter=a/b%23')
    expect(badFilter).toBe(400)
    expect((badFilterBody as { reason: string }).reason).toStartWith('filter:')
    expect(await get('/api/sse/%2F?exchange=nope')).toEqual([404, { error: 'not_found', reason: "no exchange 'nope' in vhost '/'" }])
    expect((await get('/api/sse/nowhere'))[0]).toBe(404)
    expect((await get('/api/sse/%2F?payload_encoding=hex'))[0]).toBe(400)
    expect(await get('/api/sse/%2F', {})).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
    // A real EventSource sees the status and gives up.
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F`, { authorization: null })
    try {
      expect((await client.failed()).code).toBe(401)
    } finally {
      client.close()
    }
  })

  test('a login token in the query works where EventSource cannot send headers', async () => {
    const login = await fetch(`${broker.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'guest', password: 'guest' }),
    })
    const { token } = (await login.json()) as { token: string }
    const root = uniq('token')
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}&token=${encodeURIComponent(token)}`, { authorization: null })
    try {
      await client.opened()
      await publishTopic(root, 'with a token')
      expect((await client.received(1))[0]!.data.payload).toBe('with a token')
    } finally {
      client.close()
    }
  })

  test('a client that stops reading costs a bounded amount: the rest waits in its queue, oldest dropped', async () => {
    const root = uniq('slow')
    // A raw HTTP client that stops reading its socket after the first bytes: real TCP backpressure.
    const socket = connect(broker.httpPort, '127.0.0.1')
    await once(socket, 'connect')
    socket.write(`GET /api/sse/%2F?filter=${root} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${GUEST_AUTH}\r\n\r\n`)
    await once(socket, 'data')
    socket.pause()
    try {
      const management = broker.server.broker.management
      const queue = await waitFor(() => management.queues('/').find((q) => q.name.startsWith('amq.gen-') && queueBoundTo(q.name, root)))
      const body = Buffer.alloc(16 * 1024, 'x')
      const total = 2000 // 32 MB: far more than socket buffers hold
      for (let i = 0; i < total; i++) ch.publish('amq.topic', root, body)
      // Every message routed, the stream stalled, and the queue holding exactly its limit.
      const stalled = await waitFor(
        () => {
          const q = management.queue('/', queue.name)
          return q !== undefined && q.activity.totals.publish === total && q.lengths.ready === LIVE_QUEUE_LIMIT ? q : undefined
        },
        { message: 'the subscription queue to fill up to its limit', timeout: 15_000 },
      )
      // What went out is what the socket buffers took; the rest was dropped, not buffered.
      const sent = stalled.activity.totals.deliverNoAck
      expect(sent + LIVE_QUEUE_LIMIT).toBeLessThan(total)
      expect(broker.server.broker.heldBytes).toBeLessThan(2 * LIVE_QUEUE_LIMIT * body.length)
    } finally {
      socket.destroy()
    }
  }, 30_000)
})
