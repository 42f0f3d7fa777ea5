// SSE queue streams survive the broker: a real EventSource resumes its stream after a kill -9
// (and after a clean restart) with its Last-Event-ID; in auto mode what it had received is
// confirmed, not sent again; what it had not confirmed comes once more, redelivered; ids never
// repeat.
import { afterAll, describe, expect, test } from 'bun:test'
import { amqplibConnect, closeQuietly } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'
import { GUEST_AUTH, SseClient } from '../http/sse_client.ts'
import { cleanup, freePort, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

/** A short EventSource retry so reconnects are quick; a resume timeout no test reaches. */
const CONFIG = { sseRetryMs: 50, sseResumeTimeoutMs: 60_000 }

/** Declares the durable queue `queue` and publishes `payloads` persistent, with confirms. */
async function publishPersistent(broker: BrokerProcess, queue: string, payloads: string[]): Promise<void> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  try {
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue(queue, { durable: true })
    for (const p of payloads) ch.sendToQueue(queue, Buffer.from(p), { persistent: true })
    await ch.waitForConfirms()
  } finally {
    await closeQuietly(conn)
  }
}

/** The queue's ready and unacknowledged counts from the management API. */
async function depth(broker: BrokerProcess, queue: string): Promise<{ ready: number; unacked: number }> {
  const response = await fetch(`${broker.httpUrl}/api/queues/%2F/${queue}`, { headers: { Authorization: GUEST_AUTH } })
  const q = (await response.json()) as { messages_ready: number; messages_unacknowledged: number }
  return { ready: q.messages_ready, unacked: q.messages_unacknowledged }
}

async function depthIs(broker: BrokerProcess, queue: string, want: { ready: number; unacked: number }): Promise<void> {
  let last: unknown
  await waitFor(
    async () => {
      last = await depth(broker, queue)
      return JSON.stringify(last) === JSON.stringify(want)
    },
    { message: `${queue} to hold ${JSON.stringify(want)}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`)
  })
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`)
const eventN = (id: string) => Number(id.slice(id.lastIndexOf(':') + 1))

describe('SSE queue streams across broker restarts', () => {
  test('kill -9 between two EventSource connections: Last-Event-ID confirms what was seen, the rest comes once, redelivered', async () => {
    const dataDir = tempDataDir()
    const queue = 'sse-crash'
    let broker = await startBrokerProcess(dataDir, {}, { config: CONFIG })
    await publishPersistent(broker, queue, range(1, 10))
    const url = (b: BrokerProcess) => `${b.httpUrl}/api/sse/%2F/queues/${queue}?ack=auto&prefetch=20`

    const first = new SseClient(url(broker))
    const about = await first.opened()
    const stream = about.stream as string
    await first.received(10)
    expect(first.payloads).toEqual(range(1, 10))
    // The page handled m1..m6 when the broker died; the other four were on the wire.
    const seen = first.messages[5]!.id
    first.close()
    await broker.crash()

    broker = await startBrokerProcess(dataDir, {}, { config: CONFIG })
    const second = new SseClient(url(broker), { lastEventId: seen })
    // The same stream, its own settings, numbering on above every id it had sent.
    expect(await second.opened()).toEqual({ stream, queue, ack: 'auto', prefetch: 20 })
    await second.received(4)
    expect(second.payloads).toEqual(range(7, 10))
    expect(second.messages.every((m) => m.data.redelivered)).toBe(true)
    expect(second.messages.every((m) => m.id.startsWith(`${stream}:`) && eventN(m.id) > 10)).toBe(true)
    // m1..m6 were acknowledged unseen: only the four on the wire are held.
    await depthIs(broker, queue, { ready: 0, unacked: 4 })

    // A second crash, this time resuming from an id of the resumed stream (the client got m9).
    await publishPersistent(broker, queue, ['m11'])
    await second.received(5)
    expect(second.payloads.at(-1)).toBe('m11')
    const seenAgain = second.messages[2]!.id
    const highest = eventN(second.messages.at(-1)!.id)
    second.close()
    await broker.crash()

    broker = await startBrokerProcess(dataDir, {}, { config: CONFIG })
    const third = new SseClient(url(broker), { lastEventId: seenAgain })
    expect((await third.opened()).stream).toBe(stream)
    await third.received(2)
    expect(third.payloads).toEqual(['m10', 'm11'])
    expect(third.messages.every((m) => eventN(m.id) > highest)).toBe(true)
    await depthIs(broker, queue, { ready: 0, unacked: 2 })
    third.close()
    await broker.stop()
  })

  test('the EventSource reconnects by itself across a kill -9 and resumes where it was', async () => {
    const dataDir = tempDataDir()
    const queue = 'sse-reconnect'
    const httpPort = await freePort()
    let broker = await startBrokerProcess(dataDir, {}, { config: CONFIG, httpPort })
    await publishPersistent(broker, queue, range(1, 5))

    const client = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}?prefetch=50`)
    const stream = (await client.opened()).stream as string
    await client.received(5)
    const lastSeen = client.messages.at(-1)!.id
    await broker.crash()
    broker = await startBrokerProcess(dataDir, {}, { config: CONFIG, httpPort })

    // The EventSource's own retry sends Last-Event-ID = the last message: all five are confirmed.
    expect((await client.opened(2, 10_000)).stream).toBe(stream)
    expect(client.requestLastEventIds.at(-1)).toBe(lastSeen)
    await depthIs(broker, queue, { ready: 0, unacked: 0 })
    await publishPersistent(broker, queue, ['m6'])
    await client.received(6)
    expect(client.payloads).toEqual(range(1, 6))
    expect(client.messages[5]!.data.redelivered).toBe(false)
    client.close()
    await broker.stop()
  })

  test('a clean restart keeps an explicit-ack stream: acked messages stay gone, the unconfirmed come again', async () => {
    const dataDir = tempDataDir()
    const queue = 'sse-clean'
    let broker = await startBrokerProcess(dataDir, {}, { config: CONFIG })
    await publishPersistent(broker, queue, range(1, 8))
    const url = (b: BrokerProcess) => `${b.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit&prefetch=5`

    const first = new SseClient(url(broker))
    const stream = (await first.opened()).stream as string
    await first.received(5)
    const acked = await fetch(`${broker.httpUrl}/api/sse/%2F/queues/${queue}/ack`, {
      method: 'POST',
      headers: { Authorization: GUEST_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ up_to: first.messages[1]!.id }),
    })
    expect(await acked.json()).toEqual({ acked: 2 })
    // m6 and m7 fill the window again once m1 and m2 are confirmed.
    await first.received(7)
    const lastSeen = first.messages.at(-1)!.id
    first.close()
    expect(await broker.stop()).toBe(0)

    broker = await startBrokerProcess(dataDir, {}, { config: CONFIG })
    const second = new SseClient(url(broker), { lastEventId: lastSeen })
    expect(await second.opened()).toEqual({ stream, queue, ack: 'explicit', prefetch: 5 })
    // Explicit mode: Last-Event-ID confirms nothing, so m3..m7 come again, redelivered; m1, m2 never.
    await second.received(5)
    expect(second.payloads).toEqual(range(3, 7))
    expect(second.messages.every((m) => m.data.redelivered)).toBe(true)
    await depthIs(broker, queue, { ready: 1, unacked: 5 })
    second.close()
    await broker.stop()
  })
})
