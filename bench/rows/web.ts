/**
 * The web messaging rows (issue 4), Warren only:
 * - SSE fan-out: one MQTT QoS 0 publisher -> amq.topic -> N live SSE subscriptions
 *   (`GET /api/sse/%2F?filter=…`) held by raw HTTP/1.1 clients in separate processes
 *   (bench/roles/sse_subscriber.ts); deliveries/s, then a paced phase for latency. The same
 *   scenario over MQTT subscribers is runMqttThroughput with a `latency` phase.
 * - HTTP publish: a bounded keep-alive load of `POST /api/topics/…` (raw body) and of
 *   `POST /api/exchanges/%2F/amq.default/publish` (RabbitMQ's JSON), answered after the confirm.
 * - Listing queues: N queues declared over AMQP, then `GET /api/queues` timed whole and paged.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { Child } from '../child.ts'
import { GUEST_AUTH, HttpConnection, requestBytes } from '../http/client.ts'
import { cpuSeconds, machineBusySeconds } from '../peers/broker.ts'
import type { HttpPublisherArgs } from '../roles/http_publisher.ts'
import type { MqttPublisherArgs } from '../roles/mqtt_publisher.ts'
import type { SseSubscriberArgs } from '../roles/sse_subscriber.ts'
import { median } from '../stats.ts'
import { MANY_CONNECTIONS, scaled } from './mqtt.ts'
import { type PacedLatency, pacedMessages, runPacedPhase } from './paced_latency.ts'
import { type RowContext, uniqueName, within } from './row.ts'

/** Deliveries stop for this long (after they started) = the broker dropped something. */
const QUIET_MS = 10_000

function ports(ctx: RowContext): { mqtt: number; http: number } {
  const { mqttPort, httpPort } = ctx.broker
  if (!mqttPort || !httpPort) throw new Error(`${ctx.broker.name} has no MQTT and HTTP listeners`)
  return { mqtt: mqttPort, http: httpPort }
}

export interface SseFanoutSpec {
  bodySize: number
  /** SSE connections, spread evenly over `processes` client processes. */
  subscribers: number
  processes: number
  /** Published messages before the clock starts, and after it (unscaled). */
  warmup: number
  count: number
  latency?: PacedLatency
}

/**
 * One MQTT QoS 0 publisher process -> topic `bench/<id>` -> `subscribers` SSE streams filtered on
 * that topic. `rate` is deliveries (SSE message events) per second counted by the clients over
 * the measured window, summed over the client processes.
 */
export async function runSseFanout(ctx: RowContext, spec: SseFanoutSpec): Promise<Record<string, number>> {
  const { host, pid } = ctx.broker
  const port = ports(ctx)
  const { warmup, count } = scaled(ctx, spec.warmup, spec.count)
  const id = uniqueName('bench')
  const topic = `bench/${id}`
  const path = `/api/sse/%2F?filter=${encodeURIComponent(topic)}`
  const subs: Child[] = []
  let publisher: Child | null = null
  try {
    const procs = Math.max(1, Math.min(spec.processes, spec.subscribers))
    const paced = spec.latency ? pacedMessages(ctx, spec.latency).total : 0
    for (let p = 0; p < procs; p++) {
      const connections = Math.floor(spec.subscribers / procs) + (p < spec.subscribers % procs ? 1 : 0)
      const args: SseSubscriberArgs = {
        host,
        port: port.http,
        path,
        connections,
        warmup: warmup * connections,
        count: count * connections,
        latencyCount: paced * connections,
        quietMs: QUIET_MS,
      }
      subs.push(Child.spawn('./roles/sse_subscriber.ts', args, { manyFiles: connections > MANY_CONNECTIONS }))
    }
    let connected = 0
    for (const s of subs) connected += Number((await s.next('ready', 60000)).connections)
    if (connected !== spec.subscribers) throw new Error(`opened ${connected} of ${spec.subscribers} SSE streams`)
    const pubArgs: MqttPublisherArgs = { host, port: port.mqtt, clientId: `${id}-p`, topic, count: warmup + count, bodySize: spec.bodySize, qos: 0, window: 0 }
    const cpu0 = cpuSeconds(pid)
    const busy0 = machineBusySeconds()
    const subsCpu0 = subs.reduce((a, s) => a + s.cpuSeconds(), 0)
    const wall0 = performance.now()
    publisher = Child.spawn('./roles/mqtt_publisher.ts', pubArgs)
    const publisherDone = publisher.next('done', ctx.timeoutMs)
    publisherDone.catch(() => undefined)
    const results = await Promise.all(subs.map((s) => s.next('result', ctx.timeoutMs)))
    const subsCpu = subs.reduce((a, s) => a + s.cpuSeconds(), 0) - subsCpu0
    const done = await publisherDone
    const wall = (performance.now() - wall0) / 1000
    const brokerCores = (cpuSeconds(pid) - cpu0) / wall
    const busyCores = (machineBusySeconds() - busy0) / wall
    await publisher.finish()
    const clientCores = (publisher.cpuSeconds() + subsCpu) / wall
    const received = results.reduce((a, r) => a + Number(r.received), 0)
    const latency = spec.latency ? await runPacedPhase(ctx, subs, { host, port: port.mqtt, clientId: `${id}-paced`, topic, bodySize: spec.bodySize }, spec.latency) : {}
    await Promise.all(subs.map((s) => s.finish()))
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

export interface HttpPublishSpec {
  /** Keep-alive connections, each with one request in flight. */
  connections: number
  bodySize: number
  /** Requests before the clock starts and after it, per endpoint (unscaled). */
  warmup: number
  count: number
}

/**
 * Two bounded loads, one after the other, from one client process each: `POST /api/topics/%2F/
 * bench/<id>` with a raw body (-> amq.topic, key `bench.<id>`) and `POST /api/exchanges/%2F/
 * amq.default/publish` with RabbitMQ's JSON body (routing key = the queue). Both land in one queue
 * (declared and bound over AMQP), whose message count is checked at the end.
 */
export async function runHttpPublish(ctx: RowContext, spec: HttpPublishSpec): Promise<Record<string, number>> {
  const { host, port: amqpPort, pid } = ctx.broker
  const port = ports(ctx)
  const { warmup, count } = scaled(ctx, spec.warmup, spec.count)
  const id = uniqueName('bench-http')
  const queue = `${id}-q`
  const setup = await AmqpClient.connect({ host, port: amqpPort, name: 'bench-setup' })
  await setup.openChannel(1)
  let child: Child | null = null
  try {
    await setup.declareQueue(1, queue)
    await setup.bindQueue(1, queue, 'amq.topic', `bench.${id}`)
    const payload = 'a'.repeat(spec.bodySize)
    const loads: { name: string; path: string; body: string; contentType: string }[] = [
      { name: 'topics', path: `/api/topics/%2F/bench/${id}`, body: payload, contentType: 'text/plain' },
      {
        name: 'exchange',
        path: '/api/exchanges/%2F/amq.default/publish',
        body: JSON.stringify({ properties: {}, routing_key: queue, payload, payload_encoding: 'string' }),
        contentType: 'application/json',
      },
    ]
    const out: Record<string, number> = {}
    for (const load of loads) {
      const args: HttpPublisherArgs = { host, port: port.http, path: load.path, body: load.body, contentType: load.contentType, connections: spec.connections, warmup, count }
      child = Child.spawn('./roles/http_publisher.ts', args)
      await child.next('ready', 30000)
      const cpu0 = cpuSeconds(pid)
      const busy0 = machineBusySeconds()
      const clientCpu0 = child.cpuSeconds()
      const wall0 = performance.now()
      const r = await child.next('result', ctx.timeoutMs)
      const wall = (performance.now() - wall0) / 1000
      const brokerCores = (cpuSeconds(pid) - cpu0) / wall
      const clientCores = (child.cpuSeconds() - clientCpu0) / wall
      const busyCores = (machineBusySeconds() - busy0) / wall
      await child.finish()
      child = null
      Object.assign(out, {
        [`${load.name}Rate`]: Number(r.rate),
        [`${load.name}Requests`]: Number(r.requests),
        [`${load.name}P50`]: Number(r.p50),
        [`${load.name}P99`]: Number(r.p99),
        [`${load.name}BrokerCores`]: brokerCores,
        [`${load.name}ClientCores`]: clientCores,
        [`${load.name}OtherCores`]: Math.max(0, busyCores - brokerCores - clientCores),
      })
    }
    // Every confirmed publish must be in the queue (a passive-style redeclare reports the count).
    out.queued = (await setup.declareQueue(1, queue)).messages
    return out
  } finally {
    await child?.finish()
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

export interface ListQueuesSpec {
  queues: number
  /** Timed calls after the first, per form; the figure is their median. */
  calls: number
  pageSize: number
  /** Channels declaring queues at once. */
  channels: number
}

/**
 * Declares `queues` queues over AMQP (non-durable, so they outlive the setup connection but not
 * the broker), then times, on one keep-alive connection from this process, `GET /api/queues`
 * (every queue) and `GET /api/queues?page=1&page_size=N`: the first call of each and the median of
 * `calls` more. A time runs from writing the request to the last byte of the answer. Run on a
 * fresh broker (the runner's freshBroker), so the first call is the broker's first listing.
 */
export async function runApiListQueues(ctx: RowContext, spec: ListQueuesSpec): Promise<Record<string, number>> {
  const { host, port: amqpPort } = ctx.broker
  const port = ports(ctx)
  const id = uniqueName('bench-list')
  const setup = await AmqpClient.connect({ host, port: amqpPort, name: 'bench-setup' })
  let http: HttpConnection | null = null
  try {
    const channels = Math.max(1, Math.min(spec.channels, spec.queues))
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: channels }, async (_, c) => {
        await setup.openChannel(c + 1)
        // Bounded by `queues`: channel c declares every channels-th queue.
        for (let i = c; i < spec.queues; i += channels) await setup.declareQueue(c + 1, `${id}-${String(i).padStart(5, '0')}`)
      }),
    )
    const declareMs = performance.now() - t0
    http = await HttpConnection.connect(host, port.http)
    const conn = http
    const timed = async (path: string): Promise<{ ms: number; bytes: number; body: Buffer }> => {
      const request = requestBytes('GET', path, { host, port: port.http, auth: GUEST_AUTH })
      const t = performance.now()
      const res = await conn.request(request)
      const ms = performance.now() - t
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`)
      return { ms, bytes: res.body.length, body: res.body }
    }
    const all = '/api/queues'
    const paged = `/api/queues?page=1&page_size=${spec.pageSize}`
    const first = await timed(all)
    // Checked once, outside the timing: every declared queue is in the answer.
    const listed = (JSON.parse(first.body.toString('utf8')) as { name: string }[]).filter((q) => q.name.startsWith(id)).length
    if (listed !== spec.queues) throw new Error(`GET /api/queues listed ${listed} of the ${spec.queues} queues`)
    const warm: number[] = []
    for (let i = 0; i < spec.calls; i++) warm.push((await timed(all)).ms)
    const pagedFirst = await timed(paged)
    const page = JSON.parse(pagedFirst.body.toString('utf8')) as { items: unknown[]; total_count: number }
    if (page.items.length !== Math.min(spec.pageSize, page.total_count) || page.total_count < spec.queues) {
      throw new Error(`GET ${paged} gave ${page.items.length} items of ${page.total_count}`)
    }
    const pagedWarm: number[] = []
    for (let i = 0; i < spec.calls; i++) pagedWarm.push((await timed(paged)).ms)
    return {
      firstMs: first.ms,
      warmMs: median(warm),
      warmMaxMs: Math.max(...warm),
      pagedFirstMs: pagedFirst.ms,
      pagedWarmMs: median(pagedWarm),
      listedQueues: listed,
      pageItems: page.items.length,
      bytes: first.bytes,
      pagedBytes: pagedFirst.bytes,
      declareMs,
    }
  } finally {
    await http?.close(2000)
    await within(setup.close(), 30000, 'cleanup').catch(() => setup.destroy())
  }
}
