/**
 * The MQTT rows (issue 3): 1 -> 1 and 1 -> N throughput at QoS 0 or 1, MQTT -> AMQP through
 * amq.topic, and broker memory per idle MQTT connection. Publisher and subscribers are separate
 * processes (bench/roles/mqtt_*.ts) speaking raw MQTT 3.1.1 (bench/mqtt/).
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { Child } from '../child.ts'
import { cpuSeconds, machineBusySeconds, rssBytes } from '../peers/broker.ts'
import type { ConsumerArgs } from '../roles/consumer.ts'
import type { MqttIdleArgs } from '../roles/mqtt_idle.ts'
import type { MqttPublisherArgs } from '../roles/mqtt_publisher.ts'
import type { MqttSubscriberArgs } from '../roles/mqtt_subscriber.ts'
import { type PacedLatency, pacedMessages, runPacedPhase } from './paced_latency.ts'
import { type RowContext, uniqueName, within } from './row.ts'

export interface MqttThroughputSpec {
  bodySize: number
  /** QoS of the publisher and of every subscription. */
  qos: 0 | 1
  /** QoS 1: the publisher's window of unacknowledged PUBLISHes. */
  window: number
  /** Subscriber connections, spread evenly over `subscriberProcesses` processes. */
  subscribers: number
  subscriberProcesses: number
  /** Published messages before the clock starts, and after it (unscaled). */
  warmup: number
  count: number
  /** A paced, timestamped second phase measuring delivery latency (QoS 0; see paced_latency.ts). */
  latency?: PacedLatency
}

/** Subscriber connections per process above which the process gets a raised open-file limit. */
export const MANY_CONNECTIONS = 200

/** Deliveries stop for this long (after they started) = the broker dropped something. */
const QUIET_MS = 10_000

function mqttPort(ctx: RowContext): number {
  const port = ctx.broker.mqttPort
  if (!port) throw new Error(`${ctx.broker.name} has no MQTT listener`)
  return port
}

export function scaled(ctx: RowContext, warmup: number, count: number): { warmup: number; count: number } {
  return { warmup: Math.max(0, Math.round(warmup * ctx.scale)), count: Math.max(1, Math.round(count * ctx.scale)) }
}

/**
 * One publisher process -> topic -> `subscribers` connections. `rate` is deliveries per second
 * counted by the subscribers over the measured window, summed over the subscriber processes
 * (each times its own window; they overlap almost entirely). With `spec.latency`, a paced
 * second phase follows on the same subscriptions and adds p50 … max (ms) to the figures.
 */
export async function runMqttThroughput(ctx: RowContext, spec: MqttThroughputSpec): Promise<Record<string, number>> {
  const { host, pid } = ctx.broker
  const port = mqttPort(ctx)
  const { warmup, count } = scaled(ctx, spec.warmup, spec.count)
  const id = uniqueName('bench')
  const topic = `bench/${id}`
  const subs: Child[] = []
  let publisher: Child | null = null
  try {
    const procs = Math.max(1, Math.min(spec.subscriberProcesses, spec.subscribers))
    const paced = spec.latency ? pacedMessages(ctx, spec.latency).total : 0
    for (let p = 0; p < procs; p++) {
      // Spread the connections as evenly as possible over the processes.
      const connections = Math.floor(spec.subscribers / procs) + (p < spec.subscribers % procs ? 1 : 0)
      const args: MqttSubscriberArgs = {
        host,
        port,
        clientIdPrefix: `${id}-s${p}`,
        connections,
        topic,
        qos: spec.qos,
        warmup: warmup * connections,
        count: count * connections,
        latencyCount: paced * connections,
        quietMs: QUIET_MS,
      }
      subs.push(Child.spawn('./roles/mqtt_subscriber.ts', args, { manyFiles: connections > MANY_CONNECTIONS }))
    }
    for (const s of subs) await s.next('ready', 60000)
    const pubArgs: MqttPublisherArgs = { host, port, clientId: `${id}-p`, topic, count: warmup + count, bodySize: spec.bodySize, qos: spec.qos, window: spec.window }
    const cpu0 = cpuSeconds(pid)
    const busy0 = machineBusySeconds()
    const subsCpu0 = subs.reduce((a, s) => a + s.cpuSeconds(), 0)
    const wall0 = performance.now()
    publisher = Child.spawn('./roles/mqtt_publisher.ts', pubArgs)
    const publisherDone = publisher.next('done', ctx.timeoutMs)
    publisherDone.catch(() => undefined)
    const results = await Promise.all(subs.map((s) => s.next('result', ctx.timeoutMs)))
    // The subscribers may live on for the latency phase: read their CPU time from /proc now.
    const subsCpu = subs.reduce((a, s) => a + s.cpuSeconds(), 0) - subsCpu0
    const done = await publisherDone
    const wall = (performance.now() - wall0) / 1000
    const brokerCores = (cpuSeconds(pid) - cpu0) / wall
    const busyCores = (machineBusySeconds() - busy0) / wall
    await publisher.finish()
    const received = results.reduce((a, r) => a + Number(r.received), 0)
    const latency = spec.latency ? await runPacedPhase(ctx, subs, { host, port, clientId: `${id}-paced`, topic, bodySize: spec.bodySize }, spec.latency) : {}
    await Promise.all(subs.map((s) => s.finish()))
    const clientCores = (publisher.cpuSeconds() + subsCpu) / wall
    return {
      rate: results.reduce((a, r) => a + Number(r.rate), 0),
      publishRate: (Number(done.sent) / Number(done.ms)) * 1000,
      measured: received - warmup * spec.subscribers,
      ...latency,
      received,
      brokerCores,
      clientCores,
      otherCores: Math.max(0, busyCores - brokerCores - clientCores),
    }
  } finally {
    await Promise.all([publisher?.finish(), ...subs.map((s) => s.finish())])
  }
}

/**
 * MQTT QoS 0 publisher to `a/b` -> amq.topic -> an AMQP queue bound with `a.b` -> one auto-ack
 * AMQP consumer (bench/roles/consumer.ts), which counts. Needs a broker with both protocols.
 */
export async function runMqttToAmqp(ctx: RowContext, spec: { bodySize: number; warmup: number; count: number }): Promise<Record<string, number>> {
  const { host, port: amqpPort, pid } = ctx.broker
  const port = mqttPort(ctx)
  if (!amqpPort) throw new Error(`${ctx.broker.name} has no AMQP listener`)
  const { warmup, count } = scaled(ctx, spec.warmup, spec.count)
  const setup = await AmqpClient.connect({ host, port: amqpPort, name: 'bench-setup' })
  await setup.openChannel(1)
  const id = uniqueName('bench-mqtt-amqp')
  const queue = `${id}-q`
  let consumer: Child | null = null
  let publisher: Child | null = null
  try {
    await setup.declareQueue(1, queue)
    await setup.bindQueue(1, queue, 'amq.topic', 'a.b')
    const consumerArgs: ConsumerArgs = { host, port: amqpPort, queues: [queue], noAck: true, prefetch: 0, warmup, count }
    consumer = Child.spawn('./roles/consumer.ts', consumerArgs)
    await consumer.next('ready', 30000)
    const pubArgs: MqttPublisherArgs = { host, port, clientId: `${id}-p`, topic: 'a/b', count: warmup + count, bodySize: spec.bodySize, qos: 0, window: 0 }
    const cpu0 = cpuSeconds(pid)
    const busy0 = machineBusySeconds()
    const wall0 = performance.now()
    publisher = Child.spawn('./roles/mqtt_publisher.ts', pubArgs)
    const publisherDone = publisher.next('done', ctx.timeoutMs)
    publisherDone.catch(() => undefined)
    const result = await consumer.next('result', ctx.timeoutMs)
    const done = await publisherDone
    const wall = (performance.now() - wall0) / 1000
    const brokerCores = (cpuSeconds(pid) - cpu0) / wall
    const busyCores = (machineBusySeconds() - busy0) / wall
    await Promise.all([consumer.finish(), publisher.finish()])
    const clientCores = (consumer.cpuSeconds() + publisher.cpuSeconds()) / wall
    return {
      rate: Number(result.rate),
      publishRate: (Number(done.sent) / Number(done.ms)) * 1000,
      measured: Number(result.received) - warmup,
      brokerCores,
      clientCores,
      otherCores: Math.max(0, busyCores - brokerCores - clientCores),
    }
  } finally {
    await Promise.all([consumer?.finish(), publisher?.finish()])
    await within(
      (async () => {
        await setup.deleteQueue(1, queue)
        await setup.close()
      })(),
      30000,
      'cleanup',
    ).catch((e) => {
      ctx.log(`  cleanup failed: ${(e as Error).message}`)
      setup.destroy()
    })
  }
}

/**
 * Broker memory per idle MQTT connection: VmRSS with `connections` open (CONNECT done, clean
 * session, keep alive `keepalive` s, nothing subscribed) minus VmRSS just before, both after
 * `settleMs`. The connections come from `processes` client processes, each with its open-file
 * limit raised.
 */
export async function runMqttIdle(
  ctx: RowContext,
  opts: { connections: number; processes: number; concurrency: number; keepalive: number; settleMs: number },
): Promise<Record<string, number>> {
  const { host, pid } = ctx.broker
  const port = mqttPort(ctx)
  const id = uniqueName('bench-idle')
  await settle(opts.settleMs)
  const idle = rssBytes(pid)
  const children: Child[] = []
  try {
    const procs = Math.max(1, Math.min(opts.processes, opts.connections))
    for (let p = 0; p < procs; p++) {
      const connections = Math.floor(opts.connections / procs) + (p < opts.connections % procs ? 1 : 0)
      const args: MqttIdleArgs = {
        host,
        port,
        clientIdPrefix: `${id}-${p}`,
        connections,
        concurrency: opts.concurrency,
        keepalive: opts.keepalive,
        holdMs: ctx.timeoutMs + opts.settleMs,
      }
      children.push(Child.spawn('./roles/mqtt_idle.ts', args, { manyFiles: true }))
    }
    let opened = 0
    for (const c of children) opened += Number((await c.next('ready', ctx.timeoutMs)).opened)
    if (opened !== opts.connections) throw new Error(`opened ${opened} of ${opts.connections} connections`)
    await settle(opts.settleMs)
    const loaded = rssBytes(pid)
    return {
      perConnectionKiB: (loaded - idle) / 1024 / opts.connections,
      deltaMB: (loaded - idle) / (1024 * 1024),
      idleMB: idle / (1024 * 1024),
      loadedMB: loaded / (1024 * 1024),
      connections: opened,
    }
  } finally {
    await Promise.all(children.map((c) => c.terminate(15000)))
  }
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
