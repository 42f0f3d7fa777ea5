// Consuming a queue over Server-Sent Events with at-least-once delivery, with a real EventSource:
// reconnecting with Last-Event-ID (and POST …/ack) confirms, a reconnect sees exactly the
// unconfirmed messages again (redelivered) and the confirmed ones never, a full window in auto
// mode makes the EventSource reconnect by itself, and a stream gone past the resume timeout
// gives its messages back to the queue.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel } from 'amqplib'
import { amqplibConnect, closeQuietly, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'
import { GUEST_AUTH, SseClient } from './sse_client.ts'

let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  // A short retry so an EventSource reconnects at once; a long resume timeout so nothing
  // expires behind a test's back.
  broker = await startBroker({ sseRetryMs: 10, sseResumeTimeoutMs: 60_000 })
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
  broker.server.broker.users.add('writer', 'writerpw', [])
  broker.server.broker.permissions.set('/', 'writer', { configure: '.*', write: '.*', read: '' })
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

/** A fresh queue holding m1..mN. */
async function queueWith(count: number, c: Channel = ch): Promise<string> {
  const queue = uniq('sseq')
  await c.assertQueue(queue, { autoDelete: false })
  for (let i = 1; i <= count; i++) c.sendToQueue(queue, Buffer.from(`m${i}`))
  await waitForDepth(c, queue, count)
  return queue
}

function lengths(b: TestBroker, queue: string): { ready: number; unacked: number } {
  const q = b.server.broker.management.queue('/', queue)
  if (q === undefined) throw new Error(`no queue ${queue}`)
  return { ready: q.lengths.ready, unacked: q.lengths.unacked }
}

async function ack(b: TestBroker, queue: string, upTo: string, authorization = GUEST_AUTH): Promise<[number, unknown]> {
  const response = await fetch(`${b.httpUrl}/api/sse/%2F/queues/${queue}/ack`, {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    body: JSON.stringify({ up_to: upTo }),
  })
  return [response.status, await response.json()]
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`)

describe('GET /api/sse/{vhost}/queues/{queue}', () => {
  test('explicit acks: drop after reading some, reconnect with Last-Event-ID, get exactly the unconfirmed ones, redelivered', async () => {
    const queue = await queueWith(10)
    const url = `${broker.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit&prefetch=5`
    const first = new SseClient(url)
    const about = await first.opened()
    expect(about).toEqual({ stream: expect.any(String), queue, ack: 'explicit', prefetch: 5 })
    const stream = about.stream as string
    await first.received(5)
    expect(first.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5].map((n) => `${stream}:${n}`))
    expect(first.payloads).toEqual(range(1, 5))
    expect(first.messages.every((m) => !m.data.redelivered)).toBe(true)
    // The window is full: nothing more until the client confirms.
    expect(lengths(broker, queue)).toEqual({ ready: 5, unacked: 5 })

    // The page confirms three; that credit brings m6..m8 at once.
    expect(await ack(broker, queue, first.messages[2]!.id)).toEqual([200, { acked: 3 }])
    await first.received(8)
    expect(first.payloads.slice(5)).toEqual(range(6, 8))
    // Then the connection drops. Last-Event-ID finds the stream again; in explicit mode it
    // confirms nothing, so the five unconfirmed come back, redelivered, and m1..m3 never.
    const lastSeen = first.messages.at(-1)!.id
    first.close()

    const second = new SseClient(url, { lastEventId: lastSeen })
    try {
      expect((await second.opened()).stream).toBe(stream)
      await second.received(5)
      expect(second.payloads).toEqual(range(4, 8))
      expect(second.messages.every((m) => m.data.redelivered)).toBe(true)
      expect(await ack(broker, queue, second.messages.at(-1)!.id)).toEqual([200, { acked: 5 }])
      await second.received(7)
      expect(second.payloads.slice(5)).toEqual(['m9', 'm10'])
      expect(second.messages.slice(5).every((m) => !m.data.redelivered)).toBe(true)
      expect(await ack(broker, queue, second.messages.at(-1)!.id)).toEqual([200, { acked: 2 }])
      expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 0 })
      // Ids only grow within a stream, across its reconnects.
      const ns = [...first.messages, ...second.messages].map((m) => Number(m.id.split(':')[1]))
      expect(ns).toEqual([...ns].sort((a, b) => a - b))
    } finally {
      second.close()
      await ch.deleteQueue(queue)
    }
  })

  test('auto acks: reconnecting with Last-Event-ID confirms up to it; the rest comes again, redelivered', async () => {
    const queue = await queueWith(10)
    const url = `${broker.httpUrl}/api/sse/%2F/queues/${queue}?prefetch=100`
    const first = new SseClient(url)
    await first.received(10)
    expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 10 })
    // The browser had dispatched six events when the network dropped.
    const lastSeen = first.messages[5]!.id
    first.close()

    const second = new SseClient(url, { lastEventId: lastSeen })
    try {
      await second.received(4)
      expect(second.payloads).toEqual(range(7, 10))
      expect(second.messages.every((m) => m.data.redelivered)).toBe(true)
      expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 4 })
      expect(await ack(broker, queue, second.messages.at(-1)!.id)).toEqual([200, { acked: 4 }])
      expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 0 })
    } finally {
      second.close()
      await ch.deleteQueue(queue)
    }
  })

  test('auto acks: a full window ends the response and the EventSource’s own reconnect confirms it; all arrive once', async () => {
    const queue = await queueWith(10)
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}?prefetch=3`)
    try {
      await client.received(10)
      expect(client.payloads).toEqual(range(1, 10))
      expect(client.messages.every((m) => !m.data.redelivered)).toBe(true)
      const stream = client.streams[0]!.stream as string
      // Each response carried one window; each reconnect named the last event it got.
      expect(client.requestLastEventIds).toEqual([undefined, `${stream}:3`, `${stream}:6`, `${stream}:9`])
      expect(client.streams.every((s) => s.stream === stream)).toBe(true)
      expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 1 })
      expect(await ack(broker, queue, client.messages.at(-1)!.id)).toEqual([200, { acked: 1 }])
      expect(lengths(broker, queue)).toEqual({ ready: 0, unacked: 0 })
    } finally {
      client.close()
      await ch.deleteQueue(queue)
    }
  })

  test('messages published while the stream is open arrive live', async () => {
    const queue = await queueWith(0)
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit`)
    try {
      await client.opened()
      ch.sendToQueue(queue, Buffer.from('late'), { contentType: 'text/plain' })
      const [m] = await client.received(1)
      expect(m!.data).toMatchObject({ exchange: '', routing_key: queue, payload: 'late', properties: { content_type: 'text/plain' } })
    } finally {
      client.close()
      await ch.deleteQueue(queue)
    }
  })

  test('deleting the queue ends the stream; the reconnect gets 404 and the EventSource gives up', async () => {
    const queue = await queueWith(1)
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}`)
    try {
      await client.received(1)
      await ch.deleteQueue(queue)
      expect((await client.failed()).code).toBe(404)
    } finally {
      client.close()
    }
  })

  test('errors: unknown queue 404, no read permission 403, bad query 400, no login 401', async () => {
    const get = (path: string, authorization: string | null = GUEST_AUTH) =>
      fetch(`${broker.httpUrl}${path}`, { headers: authorization === null ? {} : { Authorization: authorization } }).then(
        async (r) => [r.status, await r.json()] as const,
      )
    expect(await get('/api/sse/%2F/queues/nope')).toEqual([404, { error: 'not_found', reason: "no queue 'nope' in vhost '/'" }])
    const queue = await queueWith(0)
    try {
      expect(await get(`/api/sse/%2F/queues/${queue}`, `Basic ${btoa('writer:writerpw')}`)).toEqual([
        403,
        { error: 'not_authorised', reason: `read access to queue '${queue}' in vhost '/' refused for user 'writer'` },
      ])
      expect((await get(`/api/sse/%2F/queues/${queue}?ack=sometimes`))[0]).toBe(400)
      expect((await get(`/api/sse/%2F/queues/${queue}?prefetch=0`))[0]).toBe(400)
      expect((await get(`/api/sse/nowhere/queues/${queue}`))[0]).toBe(404)
      expect((await get(`/api/sse/%2F/queues/${queue}`, null))[0]).toBe(401)
    } finally {
      await ch.deleteQueue(queue)
    }
  })

  test('POST …/ack errors: malformed id 400, unknown stream 404, an id never delivered 400, another user’s stream 404', async () => {
    const queue = await queueWith(2)
    broker.server.broker.users.add('other', 'otherpw', [])
    broker.server.broker.permissions.set('/', 'other', { configure: '.*', write: '.*', read: '.*' })
    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit`)
    try {
      await client.received(2)
      const stream = client.streams[0]!.stream as string
      expect((await ack(broker, queue, 'not-an-id'))[0]).toBe(400)
      expect((await ack(broker, queue, 'no-such-stream:1'))[0]).toBe(404)
      expect(await ack(broker, queue, `${stream}:99`)).toEqual([400, { error: 'bad_request', reason: 'up_to: unknown delivery tag 99' }])
      expect((await ack(broker, queue, `${stream}:1`, `Basic ${btoa('other:otherpw')}`))[0]).toBe(404)
      expect((await ack(broker, 'another-queue', `${stream}:1`))[0]).toBe(404)
      // Another user presenting the stream's id as Last-Event-ID gets a stream of their own.
      const intruder = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}`, {
        authorization: `Basic ${btoa('other:otherpw')}`,
        lastEventId: `${stream}:2`,
      })
      try {
        expect((await intruder.opened()).stream).not.toBe(stream)
      } finally {
        intruder.close()
      }
      expect(await ack(broker, queue, `${stream}:2`)).toEqual([200, { acked: 2 }])
      // Acking again is harmless.
      expect(await ack(broker, queue, `${stream}:2`)).toEqual([200, { acked: 0 }])
    } finally {
      client.close()
      await ch.deleteQueue(queue)
    }
  })
})

describe('resume timeout', () => {
  let short: TestBroker
  let shortConn: ChannelModel
  let shortCh: Channel

  beforeAll(async () => {
    short = await startBroker({ sseRetryMs: 10, sseResumeTimeoutMs: 100 })
    ;({ conn: shortConn } = await amqplibConnect(short.amqpUrl))
    shortCh = await shortConn.createChannel()
  })

  afterAll(async () => {
    await closeQuietly(shortConn)
    await short?.stop()
  })

  test('a stream gone past the timeout requeues what it never confirmed; the next consumer gets it redelivered', async () => {
    const queue = await queueWith(5, shortCh)
    const url = `${short.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit`
    const first = new SseClient(url)
    await first.received(5)
    expect(await ack(short, queue, first.messages[1]!.id)).toEqual([200, { acked: 2 }])
    first.close()
    await waitFor(() => lengths(short, queue).ready === 3 && lengths(short, queue).unacked === 0, {
      message: 'the unconfirmed messages back in the queue',
    })
    const second = new SseClient(url)
    try {
      await second.received(3)
      expect(second.payloads).toEqual(['m3', 'm4', 'm5'])
      expect(second.messages.every((m) => m.data.redelivered)).toBe(true)
      expect(second.streams[0]!.stream).not.toBe(first.streams[0]!.stream)
    } finally {
      second.close()
    }
  })

  test('a Last-Event-ID of an expired stream opens a new one', async () => {
    const queue = await queueWith(1, shortCh)
    const url = `${short.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit`
    const first = new SseClient(url)
    await first.received(1)
    const lastSeen = first.messages[0]!.id
    first.close()
    await waitFor(() => lengths(short, queue).ready === 1, { message: 'the message back in the queue' })
    const second = new SseClient(url, { lastEventId: lastSeen })
    try {
      const [m] = await second.received(1)
      expect(m!.data).toMatchObject({ payload: 'm1', redelivered: true })
      expect(second.streams[0]!.stream).not.toBe(first.streams[0]!.stream)
    } finally {
      second.close()
    }
  })
})
