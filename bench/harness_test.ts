// Checks the load generators end to end against an in-process Warren on port 0 with tiny counts.
// Nothing here is timed or compared: it only proves every row still runs and counts exactly.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker, type TestBroker } from '../test/helpers/broker.ts'
import type { BrokerHandle } from './peers/broker.ts'
import { runIdleConnections } from './rows/idle_connections.ts'
import { runLatency } from './rows/latency.ts'
import { runMqttIdle, runMqttThroughput, runMqttToAmqp } from './rows/mqtt.ts'
import { runRecovery } from './rows/recovery.ts'
import type { RowContext } from './rows/row.ts'
import { runThroughput } from './rows/throughput.ts'
import { runApiListQueues, runHttpPublish, runSseFanout } from './rows/web.ts'

let broker: TestBroker
let ctx: RowContext

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'warn' })
  const handle = { name: 'Warren', host: '127.0.0.1', port: broker.amqpPort, mqttPort: broker.mqttPort, httpPort: broker.httpPort, pid: process.pid, version: 'test', stop: async () => {} }
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

// Persistence (issue 5).

test('persistent 1 KiB with confirms, one producer per queue, counts every delivery', async () => {
  const r = await runThroughput(ctx, { ...base, bodySize: 1024, noAck: false, prefetch: 10, persistent: true, confirmWindow: 50, queues: 3, producerPerQueue: true, warmup: 20, count: 300 })
  expect(r.measured).toBe(900)
  expect(r.nacked).toBe(0)
})

test('recovery finds every queued persistent message after a restart on the same data dir', async () => {
  // In-process, so no SIGKILL here: the old broker is stopped and a new one opens its data dir.
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-recovery-'))
  let b = await startBroker({ logLevel: 'warn', dataDir })
  const handle: BrokerHandle = {
    name: 'Warren',
    host: '127.0.0.1',
    get port() {
      return b.amqpPort
    },
    pid: process.pid,
    version: 'test',
    stop: async () => {},
    async killAndRestart() {
      await b.stop()
      const spawnedAt = performance.now()
      b = await startBroker({ logLevel: 'warn', dataDir })
      return { spawnedAt, readyAt: performance.now() }
    },
  }
  try {
    const r = await runRecovery({ ...ctx, broker: handle }, { bodySize: 1024, count: 500, confirmWindow: 50, settleMs: 0 })
    expect(r.recovered).toBe(500)
    expect(r.recoveryMs).toBeGreaterThanOrEqual(0)
  } finally {
    await b.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
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

const mqtt = { bodySize: 16, qos: 0, window: 0, subscribers: 1, subscriberProcesses: 1, warmup: 200, count: 2000 } as const

test('MQTT QoS 0 counts every delivery', async () => {
  const r = await runMqttThroughput(ctx, mqtt)
  expect(r.measured).toBe(2000)
  expect(r.received).toBe(2200)
  expect(r.rate).toBeGreaterThan(0)
})

test('MQTT QoS 1 with a small publisher window, 1 KiB, every delivery acked', async () => {
  const r = await runMqttThroughput(ctx, { ...mqtt, qos: 1, window: 16, bodySize: 1024 })
  expect(r.measured).toBe(2000)
})

test('MQTT fan-out sums deliveries over subscribers in two processes', async () => {
  const r = await runMqttThroughput(ctx, { ...mqtt, subscribers: 5, subscriberProcesses: 2, warmup: 20, count: 300 })
  expect(r.measured).toBe(1500)
  expect(r.received).toBe(1600)
})

test('MQTT publishes reach an AMQP queue bound to amq.topic', async () => {
  const r = await runMqttToAmqp(ctx, { bodySize: 16, warmup: 200, count: 2000 })
  expect(r.measured).toBe(2000)
})

test('idle MQTT connections open in two processes and close', async () => {
  const r = await runMqttIdle(ctx, { connections: 30, processes: 2, concurrency: 10, keepalive: 0, settleMs: 10 })
  expect(r.connections).toBe(30)
  expect(Number.isFinite(r.perConnectionKiB)).toBe(true)
})

// Web messaging (issue 4).

const paced = { rate: 50, seconds: 1, warmupSeconds: 0 }

test('MQTT fan-out with a paced latency phase records one sample per delivery', async () => {
  const r = await runMqttThroughput(ctx, { ...mqtt, subscribers: 5, subscriberProcesses: 2, warmup: 20, count: 300, latency: paced })
  expect(r.measured).toBe(1500)
  expect(r.received).toBe(1600)
  expect(r.latencyMessages).toBe(50)
  expect(r.latencySamples).toBe(250)
  expect(r.totalReceived).toBe(1850)
  expect(r.p99).toBeGreaterThanOrEqual(r.p50!)
})

test('SSE fan-out counts every event over clients in two processes, then latency', async () => {
  const r = await runSseFanout(ctx, { bodySize: 16, subscribers: 5, processes: 2, warmup: 20, count: 300, latency: paced })
  expect(r.measured).toBe(1500)
  expect(r.received).toBe(1600)
  expect(r.rate).toBeGreaterThan(0)
  expect(r.latencySamples).toBe(250)
  expect(r.totalReceived).toBe(1850)
  expect(r.p99).toBeGreaterThanOrEqual(r.p50!)
})

test('SSE fan-out without a latency phase', async () => {
  const r = await runSseFanout(ctx, { bodySize: 16, subscribers: 3, processes: 1, warmup: 0, count: 100 })
  expect(r.measured).toBe(300)
  expect(r.p99).toBeUndefined()
})

test('HTTP publish answers every request and every message reaches the queue', async () => {
  const r = await runHttpPublish(ctx, { connections: 4, bodySize: 16, warmup: 20, count: 200 })
  expect(r.topicsRequests).toBe(200)
  expect(r.exchangeRequests).toBe(200)
  expect(r.queued).toBe(440)
})

test('listing queues finds every declared queue, whole and paged', async () => {
  const r = await runApiListQueues(ctx, { queues: 50, calls: 2, pageSize: 10, channels: 3 })
  expect(r.listedQueues).toBe(50)
  expect(r.pageItems).toBe(10)
  expect(r.firstMs).toBeGreaterThan(0)
})
