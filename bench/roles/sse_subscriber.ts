/**
 * Child process: `connections` Server-Sent Events subscribers (`GET /api/sse/{vhost}?filter=…`,
 * basic auth) on raw HTTP/1.1 connections (bench/http/client.ts), counting message events
 * without parsing them: every message event starts with `id:` after the previous event's blank
 * line, so counting the bytes `\nid:` counts deliveries (the payload JSON cannot contain a raw
 * newline). Chunked transfer coding is undone on the fly, without copying.
 *
 * Two phases, as bench/roles/mqtt_subscriber.ts:
 * 1. throughput: the clock starts once `warmup` deliveries (summed over this process's
 *    connections) are in and stops at `warmup + count`: `result { received, ms, rate }`;
 * 2. latency (when `latencyCount` > 0): `latencyCount` more deliveries, whose payloads carry
 *    their send time (bench/stamp.ts; found by the bytes `"payload":"T`, then 15 digits):
 *    `latency { received, samples, hist }` with a histogram the parent merges over processes.
 *
 * Once deliveries have started, `quietMs` without a new one ends the role with an error naming
 * the shortfall (a broker that drops events must not hang the run).
 *
 * @module
 */

import { GUEST_AUTH, HttpConnection, requestBytes } from '../http/client.ts'
import { StreamScanner, readDigits } from '../http/scanner.ts'
import { STAMP_DIGITS, elapsedMs, nowMicros } from '../stamp.ts'
import { LatencyHistogram } from '../stats.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface SseSubscriberArgs {
  host: string
  port: number
  /** Path and query of the stream, e.g. `/api/sse/%2F?filter=bench/x`. */
  path: string
  connections: number
  /** Totals over all of this process's connections. */
  warmup: number
  count: number
  /** Stamped deliveries expected after `warmup + count` (phase 2); 0 for none. */
  latencyCount: number
  quietMs: number
}

const CONNECT_WAVE = 50
const EVENT_START = '\nid:'
const STAMP_START = '"payload":"T'

async function main(): Promise<void> {
  const args = roleArgs<SseSubscriberArgs>()
  const phase1End = args.warmup + args.count
  const total = phase1End + args.latencyCount
  const request = requestBytes('GET', args.path, { host: args.host, port: args.port, auth: GUEST_AUTH, headers: { Accept: 'text/event-stream' } })
  const hist = new LatencyHistogram()
  let received = 0
  /** Deliveries counted when the clock started: counts move in whole socket reads. */
  let startCount = 0
  let t0 = 0
  /** 1: throughput, 2: latency (after the phase-1 result), 3: done. */
  let phase = 1
  let phase2Started = false
  const conns: HttpConnection[] = []

  const onStamp = (buf: Uint8Array, at: number): void => {
    const sent = readDigits(buf, at, STAMP_DIGITS)
    if (!Number.isNaN(sent)) hist.record(elapsedMs(sent, nowMicros()))
  }

  const finish = (): void => {
    phase = 3
    for (const c of conns) c.destroy()
    exit(0)
  }

  const counted = (n: number): void => {
    if (n === 0) return
    const before = received
    received += n
    if (received > total) return fail(new Error(`received ${received} deliveries, more than the ${total} published`))
    if (before < args.warmup && received >= args.warmup) {
      t0 = performance.now()
      startCount = received
    }
    if (phase === 1 && received >= phase1End) {
      const ms = performance.now() - t0
      emit('result', { received, ms, rate: ((received - startCount) / ms) * 1000 })
      if (args.latencyCount === 0) return finish()
      phase = 2
    } else if (phase === 2) {
      phase2Started = true
      if (received === total) {
        emit('latency', { received, samples: hist.total, hist: hist.pairs() })
        finish()
      }
    }
  }

  const connectOne = async (): Promise<HttpConnection> => {
    const conn = await HttpConnection.connect(args.host, args.port)
    const events = new StreamScanner(EVENT_START)
    const stamps = new StreamScanner(STAMP_START, STAMP_DIGITS)
    conn.closed.then((err) => phase !== 3 && fail(err ?? new Error('SSE connection closed')))
    const head = await conn.stream(
      request,
      (buf, start, end) => {
        const n = events.scan(buf, start, end)
        if (phase === 2) stamps.scan(buf, start, end, onStamp)
        counted(n)
      },
      () => phase !== 3 && fail(new Error('the server ended an SSE response')),
    )
    if (head.status !== 200) throw new Error(`GET ${args.path} answered ${head.status}`)
    return conn
  }

  if (args.warmup === 0) t0 = performance.now()
  // In waves: bounded by `connections`.
  for (let i = 0; i < args.connections; i += CONNECT_WAVE) {
    const wave = Math.min(CONNECT_WAVE, args.connections - i)
    conns.push(...(await Promise.all(Array.from({ length: wave }, () => connectOne()))))
  }

  // Stall detector, no per-event cost: compares the count between ticks. Quiet between the
  // phases is expected (the parent starts the paced publisher once every process is done).
  let last = -1
  let quietSince = performance.now()
  setInterval(() => {
    if (phase === 3) return
    const waiting = received === 0 || (phase === 2 && !phase2Started)
    if (received !== last || waiting) {
      last = received
      quietSince = performance.now()
    } else if (performance.now() - quietSince > args.quietMs) {
      fail(new Error(`received ${received} of ${total} deliveries, then nothing for ${Math.round(args.quietMs / 1000)} s (events dropped?)`))
    }
  }, 250).unref()
  emit('ready', { connections: conns.length })
}

main().catch(fail)
