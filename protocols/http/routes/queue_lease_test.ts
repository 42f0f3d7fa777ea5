import { describe, expect, test } from 'bun:test'
import type { WarrenBroker } from '../../../src/broker.ts'
import { client, msg, testBroker, tick } from '../../../src/core/testing.ts'
import { type AckMode, parseEventId, QueueLease } from './queue_lease.ts'
import { SseStream } from './sse_stream.ts'
import { STREAMS_NAMESPACE, StreamRecords } from './stream_records.ts'
import { waitFor } from '../../../test/helpers/wait.ts'

/** A stream whose output is collected as text, event by event. */
function openStream(onWritable: (w: boolean) => void = () => {}) {
  const stream = new SseStream({ onWritable, maxBatchEvents: 100 })
  const reader = stream.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      text += decoder.decode(value)
    }
  })()
  return { stream, ids: () => [...text.matchAll(/^id: (.*)\ndata: /gm)].map((m) => m[1]!), text: () => text }
}

function setup(mode: AckMode, count: number, resumeTimeoutMs = 60_000) {
  const broker: WarrenBroker = testBroker()
  const publisher = client(broker)
  publisher.session.declareQueue('q')
  for (let i = 1; i <= count; i++) publisher.session.publish(msg(`m${i}`))
  const closed: QueueLease[] = []
  const connection = broker.connect({ protocol: 'http', vhost: '/', user: { name: 'guest', tags: [] }, remoteAddress: '127.0.0.1' })
  const records = new StreamRecords(resumeTimeoutMs)
  const kv = connection.keyValue(STREAMS_NAMESPACE)
  records.open(kv)
  const lease = new QueueLease(connection, {
    id: 'L',
    queue: 'q',
    mode,
    prefetch: 3,
    payloadEncoding: 'auto',
    resumeTimeoutMs,
    onClosed: (l) => closed.push(l),
    records,
  })
  const lengths = () => broker.management.queue('/', 'q')!.lengths
  return { broker, lease, closed, lengths, kv }
}

describe('parseEventId', () => {
  test('splits <lease>:<n> at the last colon and refuses anything else', () => {
    expect(parseEventId('abc:12')).toEqual({ lease: 'abc', n: 12 })
    expect(parseEventId('a:b:3')).toEqual({ lease: 'a:b', n: 3 })
    for (const bad of [undefined, '', '12', ':1', 'abc:', 'abc:x', 'abc:-1', 'abc:1234567890123456']) {
      expect(parseEventId(bad)).toBeUndefined()
    }
  })
})

describe('QueueLease', () => {
  test('delivers up to prefetch into the attached stream, ids <lease>:<n>; confirm acks a prefix', async () => {
    const { lease, lengths } = setup('explicit', 5)
    const out = openStream()
    lease.attach(out.stream, undefined)
    await tick()
    await tick()
    expect(out.ids()).toEqual(['L:1', 'L:2', 'L:3'])
    expect(lengths()).toMatchObject({ ready: 2, unacked: 3 })
    expect(lease.confirm(2)).toBe(2)
    expect(lease.confirm(2)).toBe(0)
    expect(() => lease.confirm(99)).toThrow(RangeError)
    await tick()
    await tick()
    expect(out.ids()).toEqual(['L:1', 'L:2', 'L:3', 'L:4', 'L:5'])
    expect(lengths()).toMatchObject({ ready: 0, unacked: 3 })
  })

  test('explicit mode: re-attaching requeues every unconfirmed delivery, which comes back redelivered', async () => {
    const { lease, lengths } = setup('explicit', 3)
    const first = openStream()
    lease.attach(first.stream, undefined)
    await tick()
    lease.detach(first.stream)
    const second = openStream()
    lease.attach(second.stream, 3)
    await tick()
    await tick()
    expect(second.ids()).toEqual(['L:4', 'L:5', 'L:6'])
    expect(second.text()).toContain('"redelivered":true')
    expect(lengths()).toMatchObject({ ready: 0, unacked: 3 })
  })

  test('auto mode: re-attaching with Last-Event-ID n confirms up to n; a full window ends the response', async () => {
    const { lease, lengths } = setup('auto', 4)
    const first = openStream()
    lease.attach(first.stream, undefined)
    await tick()
    expect(first.stream.ended).toBe(true)
    lease.detach(first.stream)
    const second = openStream()
    lease.attach(second.stream, 2)
    await tick()
    await tick()
    // m1, m2 confirmed; m3 requeued and redelivered first, then m4.
    expect(lengths()).toMatchObject({ ready: 0, unacked: 2 })
    expect(second.ids()).toEqual(['L:4', 'L:5'])
  })

  test('a response attaching while another is attached ends the older one', async () => {
    const { lease } = setup('explicit', 0)
    const first = openStream()
    lease.attach(first.stream, undefined)
    const second = openStream()
    lease.attach(second.stream, 0)
    expect(first.stream.ended).toBe(true)
    // The ended response detaching later must not detach the new one.
    lease.detach(first.stream)
    expect(second.stream.ended).toBe(false)
  })

  test('past the resume timeout the lease closes and its unconfirmed messages return to the queue', async () => {
    const { lease, closed, lengths } = setup('explicit', 2, 1)
    const out = openStream()
    lease.attach(out.stream, undefined)
    await tick()
    expect(lengths()).toMatchObject({ ready: 0, unacked: 2 })
    lease.detach(out.stream)
    await waitFor(() => closed.length === 1, { message: 'the lease to expire' })
    expect(closed).toEqual([lease])
    expect(lease.isClosed).toBe(true)
    expect(lengths()).toMatchObject({ ready: 2, unacked: 0 })
  })

  test('keeps a durable record: written on attach, forgotten past the resume timeout', async () => {
    const { lease, closed, kv } = setup('explicit', 2, 1)
    const out = openStream()
    lease.attach(out.stream, undefined)
    await tick()
    const record = JSON.parse(new TextDecoder().decode(kv.get('L')!)) as Record<string, unknown>
    expect(record).toMatchObject({ user: 'guest', vhost: '/', queue: 'q', ack: 'explicit', prefetch: 3, enc: 'auto', skip: [] })
    lease.detach(out.stream)
    await waitFor(() => closed.length === 1, { message: 'the lease to expire' })
    expect(kv.get('L')).toBeUndefined()
  })

  test('closed by the broker, the stream stays resumable from its record (by its owner, once)', async () => {
    const { broker, lease, closed, kv } = setup('auto', 3)
    const out = openStream()
    lease.attach(out.stream, undefined)
    await tick()
    expect(out.ids()).toEqual(['L:1', 'L:2', 'L:3'])
    await broker.shutdown()
    await waitFor(() => closed.length === 1, { message: 'the lease to close' })
    // Memory-store messages do not survive a restart, so the record holds no keys for them.
    const saved = JSON.parse(new TextDecoder().decode(kv.get('L')!)) as { last: number; out: unknown[] }
    expect(saved).toMatchObject({ last: 3, out: [] })
    const records = new StreamRecords(60_000)
    records.open(kv)
    expect(records.resume('L', 'other', '/', 'q')).toBeUndefined()
    expect(records.resume('L', 'guest', '/', 'q')).toMatchObject({ id: 'L', last: 3, ack: 'auto' })
    // Taken: a second resume finds nothing.
    expect(records.resume('L', 'guest', '/', 'q')).toBeUndefined()
  })
})
