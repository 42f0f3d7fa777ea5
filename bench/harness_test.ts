// Checks the load generators end to end against an in-process Warren on port 0 with tiny counts.
// Nothing here is timed or compared: it only proves every row still runs and counts exactly.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../test/helpers/broker.ts'
import { runIdleConnections } from './rows/idle_connections.ts'
import { runLatency } from './rows/latency.ts'
import type { RowContext } from './rows/row.ts'
import { runThroughput } from './rows/throughput.ts'

let broker: TestBroker
let ctx: RowContext

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'warn' })
  const handle = { name: 'Warren', host: '127.0.0.1', port: broker.amqpPort, pid: process.pid, version: 'test', stop: async () => {} }
  ctx = { broker: handle, scale: 1, timeoutMs: 15000, log: () => {} }
})

afterAll(async () => {
  await broker?.stop()
})

const base = { bodySize: 16, noAck: true, prefetch: 0, persistent: false, confirmWindow: 0, queues: 1, warmup: 200, count: 2000 }

test('auto-ack throughput counts every delivery', async () => {
  const r = await runThroughput(ctx, base)
  expect(r.measured).toBe(2000)
  expect(r.rate).toBeGreaterThan(0)
})

test('manual ack with prefetch and 1 KiB bodies', async () => {
  const r = await runThroughput(ctx, { ...base, noAck: false, prefetch: 10, bodySize: 1024 })
  expect(r.measured).toBe(2000)
})

test('persistent messages with publisher confirms', async () => {
  const r = await runThroughput(ctx, { ...base, noAck: false, prefetch: 10, persistent: true, confirmWindow: 50 })
  expect(r.measured).toBe(2000)
  expect(r.nacked).toBe(0)
})

test('fan-out counts deliveries over every queue', async () => {
  const r = await runThroughput(ctx, { ...base, queues: 3 })
  expect(r.measured).toBe(6000)
})

test('latency at a fixed rate reports percentiles', async () => {
  const r = await runLatency(ctx, { rate: 200, seconds: 1, warmupSeconds: 0, bodySize: 16 })
  expect(r.sent).toBe(200)
  expect(r.p50).toBeGreaterThan(0)
  expect(r.p99).toBeGreaterThanOrEqual(r.p50!)
})

test('idle connections open and close', async () => {
  const r = await runIdleConnections(ctx, { connections: 20, concurrency: 10, settleMs: 10 })
  expect(Number.isFinite(r.deltaMB)).toBe(true)
})
