/**
 * Child process: a bounded keep-alive HTTP publish load. `connections` raw HTTP/1.1 connections
 * (bench/http/client.ts) each send one pre-encoded POST at a time and the next as soon as the
 * answer is in, until `warmup` requests in all are answered; then the clock starts and the same
 * runs for `count` more. Every answer must be 200 with `"routed":true` (the broker confirmed that
 * a queue took the message); anything else fails the role.
 *
 * Events: `ready`, then `result { requests, ms, rate, p50, p99, max }` (per-request latency of
 * the measured requests, ms).
 *
 * @module
 */

import { GUEST_AUTH, HttpConnection, requestBytes } from '../http/client.ts'
import { percentile } from '../stats.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface HttpPublisherArgs {
  host: string
  port: number
  /** Request path, e.g. `/api/topics/%2F/bench/x`. */
  path: string
  /** Request body and its Content-Type. */
  body: string
  contentType: string
  connections: number
  warmup: number
  count: number
}

const ROUTED = Buffer.from('"routed":true')

async function main(): Promise<void> {
  const args = roleArgs<HttpPublisherArgs>()
  const request = requestBytes('POST', args.path, { host: args.host, port: args.port, auth: GUEST_AUTH, headers: { 'Content-Type': args.contentType }, body: args.body })
  const conns = await Promise.all(Array.from({ length: args.connections }, () => HttpConnection.connect(args.host, args.port)))
  emit('ready')

  const latencies = new Float64Array(args.count)
  let recorded = 0
  /** Runs `n` requests spread over every connection; each connection takes the next one free. */
  const phase = async (n: number, record: boolean): Promise<void> => {
    let issued = 0
    await Promise.all(
      conns.map(async (conn) => {
        // Bounded by n: every pass takes one of the n requests.
        while (issued < n) {
          issued++
          const t = performance.now()
          const res = await conn.request(request)
          if (record) latencies[recorded++] = performance.now() - t
          if (res.status !== 200 || res.body.indexOf(ROUTED) < 0) {
            throw new Error(`POST ${args.path} answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`)
          }
        }
      }),
    )
  }

  await phase(args.warmup, false)
  const t0 = performance.now()
  await phase(args.count, true)
  const ms = performance.now() - t0
  const sorted = latencies.subarray(0, recorded).sort()
  emit('result', {
    requests: recorded,
    ms,
    rate: (recorded / ms) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  })
  await Promise.all(conns.map((c) => c.close(2000)))
  exit(0)
}

main().catch(fail)
