/**
 * Web messaging: HTTP publish (RabbitMQ's body, and a raw-body form for devices and curl) and
 * Server-Sent Events (live topic subscriptions and at-least-once queue consumers). The routes
 * live in publish.ts, sse.ts and sse_queue.ts; this file holds what they share and mounts them.
 *
 * These routes need a login (basic auth, or a token from POST /api/login as cookie or `?token=`)
 * but no management tag: what a user may publish or read is decided by the core's vhost
 * permissions, exactly as for an AMQP or MQTT client.
 *
 * @module
 */
import { Hono, type Context } from 'hono'
import { BrokerError, type Connection } from '../../../src/api.ts'
import { peerAddress } from '../../../src/runtime/http.ts'
import type { HttpDeps, HttpEnv } from '../app.ts'
import { notFoundError } from '../errors.ts'
import { publishRoutes } from './publish.ts'
import type { QueueLease } from './queue_lease.ts'
import { sseRoutes } from './sse.ts'
import { sseQueueRoutes } from './sse_queue.ts'
import { HeartbeatTicker } from './sse_stream.ts'
import { StreamRecords } from './stream_records.ts'
import { topicMapping, type TopicMapping } from './topic_filter.ts'

/** Web messaging settings (config fields `sse…` and `httpTopicExchange`, see src/config.ts). */
export interface MessagingOptions {
  /** Exchange of `POST /api/topics/…` and the default exchange of live subscriptions. */
  topicExchange: string
  /** Interval of the `: ping` heartbeat comment on every SSE response, ms. */
  heartbeatMs: number
  /** The `retry:` an SSE response announces: how long an EventSource waits to reconnect, ms. */
  retryMs: number
  /** Unconfirmed deliveries per queue stream when the URL sets no `prefetch`. */
  prefetch: number
  /** The largest `prefetch` a URL may ask for. */
  maxPrefetch: number
  /** x-max-length of a live subscription's queue: a slow client loses the oldest beyond it. */
  liveQueueLimit: number
  /** How long a queue stream's unconfirmed deliveries wait for the client to reconnect, ms. */
  resumeTimeoutMs: number
  /** Events written per batch before a delivery burst is cut short. */
  maxBatchEvents: number
  /** MQTT-style topics follow the MQTT adapter's mapping (config `mqttTopicDotEscaping`, see topic_filter.ts). */
  topicDotEscaping: boolean
}

export const DEFAULT_MESSAGING_OPTIONS: MessagingOptions = {
  topicExchange: 'amq.topic',
  heartbeatMs: 15_000,
  retryMs: 1000,
  prefetch: 256,
  maxPrefetch: 10_000,
  liveQueueLimit: 10_000,
  resumeTimeoutMs: 30_000,
  maxBatchEvents: 512,
  topicDotEscaping: true,
}

/** State shared by the messaging routes of one app. */
export interface MessagingContext {
  readonly deps: HttpDeps
  readonly opts: MessagingOptions
  /** MQTT-style topics <-> AMQP keys, per `opts.topicDotEscaping`. */
  readonly topics: TopicMapping
  readonly heartbeats: HeartbeatTicker
  /** Queue streams by id, attached or waiting for a reconnect. */
  readonly leases: Map<string, QueueLease>
  /** Their durable records, and the dormant streams a client may still resume. */
  readonly records: StreamRecords
}

/** Mounted at "/" by createHttpApp. */
export function messagingRoutes(deps: HttpDeps): Hono<HttpEnv> {
  const opts = { ...DEFAULT_MESSAGING_OPTIONS, ...deps.messaging }
  const ctx: MessagingContext = {
    deps,
    opts,
    topics: topicMapping(opts.topicDotEscaping),
    heartbeats: new HeartbeatTicker(opts.heartbeatMs),
    leases: new Map(),
    records: new StreamRecords(opts.resumeTimeoutMs),
  }
  const app = new Hono<HttpEnv>()
  publishRoutes(app, ctx)
  sseRoutes(app, ctx)
  sseQueueRoutes(app, ctx)
  return app
}

/**
 * Opens a core connection for the request's user in `vhost`. A missing vhost is 404 (RabbitMQ's
 * answer for an object under it); no access to it stays the core's 403.
 */
export function connectFor(c: Context<HttpEnv>, vhost: string, clientName: string): Connection {
  const broker = c.var.deps.broker
  const peer = peerAddress(c)
  try {
    return broker.connect({
      protocol: 'http',
      vhost,
      user: c.var.user,
      remoteAddress: peer.address,
      remotePort: peer.port,
      clientName,
    })
  } catch (error) {
    if (error instanceof BrokerError && error.code === 'not-allowed' && broker.management.vhost(vhost) === undefined) {
      throw notFoundError(`vhost '${vhost}' not found`)
    }
    throw error
  }
}
