/**
 * The rows of BENCHMARKS.md, in run order, with the goal for each: the AMQP rows beside
 * RabbitMQ, then the MQTT rows of issue 3 beside Mosquitto, then the web messaging rows of issue
 * 4 (Warren only; the SSE fan-out set against Warren's MQTT fan-out to as many subscribers).
 *
 * bench/run.ts starts a fresh broker for every row, so rows cannot disturb each other.
 *
 * @module
 */

import { runIdleConnections } from './idle_connections.ts'
import { runRecovery } from './recovery.ts'
import { runLatency } from './latency.ts'
import { type MqttThroughputSpec, runMqttIdle, runMqttThroughput, runMqttToAmqp } from './mqtt.ts'
import type { PacedLatency } from './paced_latency.ts'
import { type Metric, type RowDef, atLeast, atMostRabbit } from './row.ts'
import { type ThroughputSpec, runThroughput } from './throughput.ts'
import { runApiListQueues, runHttpPublish, runSseFanout } from './web.ts'

function throughputRow(id: string, label: string, spec: ThroughputSpec, factor = 1, unit = 'msg/s'): RowDef {
  // For persistent rows the disk traffic is part of the result: a broker that wrote nothing did
  // not persist (or had every message acked before it needed to), and the reader should see it.
  const note = spec.persistent ? (v: Record<string, number>) => `${Math.round(v.writtenMB ?? 0)} MB to disk` : undefined
  return {
    id,
    metrics: [{ key: 'rate', label, unit, better: 'higher', target: spec.persistent ? persisted(atLeast(factor)) : atLeast(factor), ...(note ? { note } : {}) }],
    repeatable: true,
    run: (ctx) => runThroughput(ctx, spec),
  }
}

/** A throughput goal that also requires the broker to have written to storage during the run. */
function persisted(goal: Metric['target']): Metric['target'] {
  return { text: `${goal.text}, written to disk`, met: (w, r, v) => (goal.met?.(w, r, v) ?? true) && (v.writtenMB ?? 0) > 0 }
}

function mqttRow(id: string, label: string, spec: MqttThroughputSpec, unit = 'msg/s'): RowDef {
  return {
    id,
    peer: 'mosquitto',
    metrics: [{ key: 'rate', label, unit, better: 'higher', target: atLeast(1, 'mosquitto') }],
    repeatable: true,
    run: (ctx) => runMqttThroughput(ctx, spec),
  }
}

const transient = { noAck: true, prefetch: 0, persistent: false, confirmWindow: 0, queues: 1 }
const manual = { ...transient, noAck: false, prefetch: 100 }
const mqttQos0 = { qos: 0, window: 0, subscribers: 1, subscriberProcesses: 1 } as const
/** The QoS 1 publisher's window of unacknowledged PUBLISHes (as the AMQP confirm window). */
const MQTT_WINDOW = 1000
const mqttQos1 = { qos: 1, window: MQTT_WINDOW, subscribers: 1, subscriberProcesses: 1 } as const

/**
 * Issue 4's fan-out: 1 publisher -> 1,000 subscribers in 2 client processes, 16 B bodies, the same
 * for MQTT and SSE. Published messages: 500 warm-up + 5,000 measured, so 5.5M deliveries.
 */
const FANOUT_1000 = { subscribers: 1000, processes: 2, bodySize: 16, warmup: 500, count: 5_000 }
/**
 * Then a paced phase on the same subscriptions for latency (paced_latency.ts); BENCH_FANOUT_RATE
 * changes the publisher's rate (messages/s) for both rows.
 */
const FANOUT_LATENCY: PacedLatency = { rate: Number(process.env.BENCH_FANOUT_RATE ?? 20), seconds: 10, warmupSeconds: 1 }
const pacedLabel = `${FANOUT_LATENCY.rate} msg/s = ${((FANOUT_LATENCY.rate * FANOUT_1000.subscribers) / 1000).toLocaleString('en-US')}k deliveries/s`
const noGoal: Metric['target'] = { text: 'none set' }

export const ROWS: readonly RowDef[] = [
  {
    id: 'idle-conns',
    metrics: [
      {
        key: 'deltaMB',
        label: 'RSS of 1,000 idle AMQP connections (minus idle broker)',
        unit: 'MB',
        better: 'lower',
        target: { text: '< 50 MB and <= RabbitMQ', met: (w, r) => w < 50 && w <= r },
      },
    ],
    repeatable: false,
    run: (ctx) => runIdleConnections(ctx, { connections: 1000, concurrency: 50, settleMs: 2000 }),
  },
  throughputRow('t16-auto', '16 B, auto-ack', { ...transient, bodySize: 16, warmup: 100_000, count: 1_000_000 }, 2),
  throughputRow('t16-manual', '16 B, manual ack, prefetch 100', { ...manual, bodySize: 16, warmup: 100_000, count: 1_000_000 }),
  throughputRow('t1k-auto', '1 KiB, auto-ack', { ...transient, bodySize: 1024, warmup: 50_000, count: 500_000 }),
  throughputRow('t1k-manual', '1 KiB, manual ack, prefetch 100', { ...manual, bodySize: 1024, warmup: 50_000, count: 500_000 }),
  throughputRow('persistent', 'persistent 16 B, durable queue, confirms (window 1,000), manual ack', {
    ...manual,
    bodySize: 16,
    persistent: true,
    confirmWindow: 1000,
    warmup: 20_000,
    count: 200_000,
  }),
  // Persistence (issue 5): 1 KiB persistent messages, durable queues, publisher confirms (window
  // 1,000), manual ack with prefetch 100; then crash recovery of a 1M-message backlog.
  throughputRow('p1k-1to1', 'persistent 1 KiB, confirms, 1 producer -> 1 queue -> 1 consumer', { ...manual, bodySize: 1024, persistent: true, confirmWindow: 1000, warmup: 20_000, count: 200_000 }, 2),
  throughputRow('p1k-10to10', 'persistent 1 KiB, confirms, 10 producers -> 10 queues -> 10 consumers', { ...manual, bodySize: 1024, persistent: true, confirmWindow: 1000, queues: 10, producerPerQueue: true, warmup: 2_000, count: 20_000 }, 2),
  {
    id: 'recovery',
    metrics: [
      {
        key: 'recoveryMs',
        label: 'recovery after kill -9, 1,000,000 queued persistent 1 KiB messages (spawn -> queue answers with full count)',
        unit: 'ms',
        better: 'lower',
        target: { text: '< 5 s', absolute: true, met: (w) => w < 5000 },
        note: (v) => `${Math.round(v.recovered ?? 0).toLocaleString('en-US')} msgs`,
      },
      {
        key: 'rssMB',
        label: 'broker RSS with that backlog, after recovery',
        unit: 'MB',
        better: 'lower',
        target: { text: '< 200 MB', absolute: true, met: (w) => w < 200 },
      },
    ],
    repeatable: true,
    freshBroker: true,
    run: (ctx) => runRecovery(ctx, { bodySize: 1024, count: 1_000_000, confirmWindow: 1000, settleMs: 2000 }),
  },
  throughputRow('fanout', 'fan-out 16 B to 10 queues, auto-ack', { ...transient, bodySize: 16, queues: 10, warmup: 10_000, count: 100_000 }, 1, 'deliveries/s'),
  {
    id: 'latency',
    metrics: [
      { key: 'p50', label: 'latency p50 at 1,000 msg/s (16 B, auto-ack)', unit: 'ms', better: 'lower', target: atMostRabbit },
      { key: 'p99', label: 'latency p99 at 1,000 msg/s (16 B, auto-ack)', unit: 'ms', better: 'lower', target: atMostRabbit },
    ],
    repeatable: true,
    run: (ctx) => runLatency(ctx, { rate: 1000, seconds: 10, warmupSeconds: 1, bodySize: 16 }),
  },
  // MQTT (issue 3): one publisher process, subscriber processes apart, raw MQTT 3.1.1.
  {
    id: 'mqtt-idle',
    peer: 'mosquitto',
    metrics: [
      {
        key: 'perConnectionKiB',
        label: 'RSS per idle MQTT connection, 10,000 connections (minus idle broker)',
        unit: 'KiB',
        better: 'lower',
        target: { text: '< 10 KiB', absolute: true, met: (w) => w < 10 },
        note: (v) => `${Math.round(v.deltaMB ?? 0)} MB in all`,
      },
    ],
    repeatable: true,
    freshBroker: true,
    run: (ctx) => runMqttIdle(ctx, { connections: 10_000, processes: 2, concurrency: 100, keepalive: 0, settleMs: 2000 }),
  },
  mqttRow('mqtt-q0-16', 'MQTT QoS 0, 16 B, 1 -> 1', { ...mqttQos0, bodySize: 16, warmup: 100_000, count: 1_000_000 }),
  mqttRow('mqtt-q0-1k', 'MQTT QoS 0, 1 KiB, 1 -> 1', { ...mqttQos0, bodySize: 1024, warmup: 50_000, count: 500_000 }),
  mqttRow('mqtt-q1-16', `MQTT QoS 1, 16 B, 1 -> 1 (window ${MQTT_WINDOW.toLocaleString('en-US')}, PUBACK each)`, {
    ...mqttQos1,
    bodySize: 16,
    warmup: 50_000,
    count: 500_000,
  }),
  mqttRow('mqtt-q1-1k', `MQTT QoS 1, 1 KiB, 1 -> 1 (window ${MQTT_WINDOW.toLocaleString('en-US')}, PUBACK each)`, {
    ...mqttQos1,
    bodySize: 1024,
    warmup: 50_000,
    count: 500_000,
  }),
  mqttRow(
    'mqtt-fanout',
    'MQTT QoS 0, 16 B, 1 -> 100 subscribers',
    { ...mqttQos0, bodySize: 16, subscribers: 100, subscriberProcesses: 2, warmup: 2_000, count: 20_000 },
    'deliveries/s',
  ),
  {
    id: 'mqtt-amqp',
    peer: 'mosquitto',
    warrenOnly: true,
    metrics: [{ key: 'rate', label: 'MQTT QoS 0 a/b -> amq.topic -> AMQP queue (a.b), 16 B, auto-ack', unit: 'msg/s', better: 'higher', target: { text: 'none set (Warren only)' } }],
    repeatable: true,
    run: (ctx) => runMqttToAmqp(ctx, { bodySize: 16, warmup: 100_000, count: 1_000_000 }),
  },
  // Web messaging (issue 4), Warren only. The MQTT row first: it is the SSE row's reference.
  {
    id: 'mqtt-fanout-1000',
    peer: 'self',
    warrenOnly: true,
    metrics: [
      { key: 'rate', label: 'MQTT QoS 0, 16 B, 1 -> 1,000 subscribers', unit: 'deliveries/s', better: 'higher', target: { text: 'none (reference of the SSE row)' } },
      { key: 'p99', label: `MQTT 1 -> 1,000, latency p99 at ${pacedLabel}`, unit: 'ms', better: 'lower', target: noGoal },
    ],
    repeatable: true,
    freshBroker: true,
    run: (ctx) =>
      runMqttThroughput(ctx, {
        ...mqttQos0,
        bodySize: FANOUT_1000.bodySize,
        subscribers: FANOUT_1000.subscribers,
        subscriberProcesses: FANOUT_1000.processes,
        warmup: FANOUT_1000.warmup,
        count: FANOUT_1000.count,
        latency: FANOUT_LATENCY,
      }),
  },
  {
    id: 'sse-fanout',
    peer: 'self',
    warrenOnly: true,
    metrics: [
      {
        key: 'rate',
        label: 'SSE fan-out: MQTT QoS 0 publisher, 16 B -> 1,000 SSE clients',
        unit: 'deliveries/s',
        better: 'higher',
        target: { text: '>= 80% of MQTT fan-out to 1,000', met: (w, r) => w >= 0.8 * r },
        reference: { row: 'mqtt-fanout-1000', key: 'rate', label: 'MQTT, 1 -> 1,000' },
      },
      {
        key: 'p50',
        label: `SSE 1 -> 1,000, latency p50 at ${pacedLabel}`,
        unit: 'ms',
        better: 'lower',
        target: noGoal,
        reference: { row: 'mqtt-fanout-1000', key: 'p50', label: 'MQTT' },
      },
      {
        key: 'p99',
        label: `SSE 1 -> 1,000, latency p99 at ${pacedLabel}`,
        unit: 'ms',
        better: 'lower',
        target: noGoal,
        reference: { row: 'mqtt-fanout-1000', key: 'p99', label: 'MQTT' },
      },
    ],
    repeatable: true,
    freshBroker: true,
    run: (ctx) => runSseFanout(ctx, { ...FANOUT_1000, latency: FANOUT_LATENCY }),
  },
  {
    id: 'http-publish',
    peer: 'self',
    warrenOnly: true,
    metrics: [
      {
        key: 'topicsRate',
        label: 'HTTP publish POST /api/topics (16 B raw body), 32 keep-alive connections',
        unit: 'req/s',
        better: 'higher',
        target: noGoal,
        note: (v) => `p99 ${(v.topicsP99 ?? 0).toFixed(1)} ms`,
      },
      {
        key: 'exchangeRate',
        label: 'HTTP publish POST /api/exchanges/…/publish (JSON, 16 B payload), 32 connections',
        unit: 'req/s',
        better: 'higher',
        target: noGoal,
        note: (v) => `p99 ${(v.exchangeP99 ?? 0).toFixed(1)} ms`,
      },
    ],
    repeatable: true,
    run: (ctx) => runHttpPublish(ctx, { connections: 32, bodySize: 16, warmup: 5_000, count: 50_000 }),
  },
  {
    id: 'api-list-queues',
    peer: 'self',
    warrenOnly: true,
    metrics: [
      {
        key: 'firstMs',
        label: 'GET /api/queues, 10,000 queues, first call',
        unit: 'ms',
        better: 'lower',
        target: { text: '< 300 ms', absolute: true, met: (w) => w < 300 },
        note: (v) => `${((v.bytes ?? 0) / 1e6).toFixed(1)} MB`,
      },
      { key: 'warmMs', label: 'GET /api/queues, 10,000 queues, warm (median of 5)', unit: 'ms', better: 'lower', target: { text: '< 300 ms', absolute: true, met: (w) => w < 300 } },
      { key: 'pagedFirstMs', label: 'GET /api/queues?page=1&page_size=100, first call', unit: 'ms', better: 'lower', target: noGoal },
      { key: 'pagedWarmMs', label: 'GET /api/queues?page=1&page_size=100, warm (median of 5)', unit: 'ms', better: 'lower', target: noGoal },
    ],
    repeatable: true,
    freshBroker: true,
    run: (ctx) => runApiListQueues(ctx, { queues: 10_000, calls: 5, pageSize: 100, channels: 10 }),
  },
]
