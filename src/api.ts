/**
 * The seam between Warren's protocol-neutral core and its protocol adapters.
 *
 * This is the ONLY core module an adapter imports (besides `src/runtime/`). No protocol words
 * live here: AMQP channels, MQTT connections and SSE streams are all "sessions"; AMQP basic
 * properties are the common message property set that MQTT 5 and HTTP map onto.
 *
 * Threading model: everything runs on one event loop. Methods marked "synchronous" must not be
 * awaited on the read path; events are called back synchronously from inside core calls, so an
 * adapter must tolerate `deliver` being called while it is inside `publish`, `settle` etc.
 *
 * @module
 */
import type { Management } from './management_api.ts'

/** A field-table value. Numbers are JS numbers unless they do not fit (then bigint). */
export type FieldValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Uint8Array
  | Date
  | Decimal
  | TypedNumber
  | FieldValue[]
  | { [key: string]: FieldValue }

/** An exact decimal value (AMQP field type 'D'). */
export interface Decimal {
  readonly kind: 'decimal'
  readonly scale: number
  readonly value: number
}

/**
 * A number that must keep its wire width on a round trip (an AMQP 'f' float, 'B' octet, 's'
 * short …). Decoders produce plain numbers for the common types ('I', 'l', 'd') and this wrapper
 * only for the rare ones, so re-encoding a decoded table yields the same bytes.
 */
export interface TypedNumber {
  readonly kind: 'typed-number'
  readonly type: 'b' | 'B' | 's' | 'u' | 'i' | 'I' | 'l' | 'f' | 'd' | 'T'
  readonly value: number | bigint
}

export type Table = { [key: string]: FieldValue }

/** The common message property set (AMQP 0-9-1 basic properties); MQTT 5 and HTTP map onto it. */
export interface MessageProperties {
  contentType?: string
  contentEncoding?: string
  headers?: Table
  deliveryMode?: number
  priority?: number
  correlationId?: string
  replyTo?: string
  expiration?: string
  messageId?: string
  /** Seconds since the epoch, as AMQP sends it. */
  timestamp?: number
  type?: string
  userId?: string
  appId?: string
  clusterId?: string
}

/** A protocol-neutral message. `body` is the decoder's slice and is never copied by the core. */
export interface Message {
  /** The exchange the message was first published to ("" for the default exchange). */
  exchange: string
  /** MQTT topics arrive translated: "a/b/+" becomes "a.b.*". */
  routingKey: string
  properties: MessageProperties
  body: Uint8Array
  /**
   * Facts about the message that are not message properties and that other protocols do not
   * show (RabbitMQ's message-container annotations): the core carries them unchanged and never
   * reads them. Keys start with the adapter's name ("mqtt.qos"); absent on most messages.
   */
  annotations?: Annotations
}

/** See `Message.annotations`. Shared between messages, so never mutated once attached. */
export type Annotations = Readonly<Record<string, string | number | boolean>>

/**
 * Neutral error codes. Each adapter maps them in one table (AMQP reply codes, MQTT reason codes,
 * HTTP status codes).
 */
export type ErrorCode =
  | 'not-found' // AMQP 404
  | 'access-refused' // AMQP 403
  | 'resource-locked' // AMQP 405
  | 'precondition-failed' // AMQP 406
  | 'resource-error' // AMQP 506
  | 'not-allowed' // AMQP 530
  | 'command-invalid' // AMQP 503
  | 'invalid-argument' // AMQP 406 (RabbitMQ reports bad arguments as PRECONDITION_FAILED)
  | 'not-implemented' // AMQP 540
  | 'connection-forced' // AMQP 320
  | 'internal' // AMQP 541

/**
 * The only error the core throws at adapters. `message` is the detail text in RabbitMQ's wording
 * (for example `no queue 'q' in vhost '/'`); the AMQP adapter prefixes the reply-code name
 * ("NOT_FOUND - …"), other adapters show it as it is.
 */
export class BrokerError extends Error {
  readonly code: ErrorCode
  /** 'session' closes only the session (AMQP channel); 'connection' closes the connection. */
  readonly scope: 'session' | 'connection'

  constructor(code: ErrorCode, message: string, options?: { scope?: 'session' | 'connection' }) {
    super(message)
    this.name = 'BrokerError'
    this.code = code
    this.scope = options?.scope ?? 'session'
  }
}

/** Who is connecting; adapters fill it from their handshake. */
export interface ConnectInfo {
  protocol: 'amqp' | 'mqtt' | 'http'
  vhost: string
  user: AuthenticatedUser
  remoteAddress: string
  remotePort?: number
  /** e.g. AMQP client-properties connection_name, MQTT client id. */
  clientName?: string
  clientProperties?: Table
  /** The server's end of the connection, for its name in the management API ("peer -> local"). */
  localAddress?: string
  localPort?: number
  /**
   * Limits the adapter negotiated, shown by the management API (RabbitMQ's channel_max,
   * frame_max and timeout): most sessions at once, largest frame in bytes, heartbeat or
   * keep-alive interval in seconds (0: none). The core never reads them.
   */
  maxSessions?: number
  maxFrameSize?: number
  heartbeatSeconds?: number
}

export interface AuthenticatedUser {
  readonly name: string
  readonly tags: readonly string[]
}

export interface Broker {
  /**
   * Checks a username and password (and, for guest, that the peer is on loopback, as RabbitMQ
   * does). Throws BrokerError('access-refused').
   */
  authenticate(info: { username: string; password: string; remoteAddress: string }): AuthenticatedUser
  /**
   * Opens a connection in a vhost. Throws BrokerError('not-allowed') when the vhost does not
   * exist or the user has no access to it, and BrokerError('resource-error') over the
   * connection limit.
   */
  connect(info: ConnectInfo): Connection
  /**
   * Fires whenever the broker becomes blocked or unblocked by a resource alarm ("memory",
   * "disk"); also (true, reason) when the alarm naming the block clears while another stays on.
   */
  onBlocked(listener: (blocked: boolean, reason: string) => void): () => void
  /** True while any resource alarm (memory or disk) is on. */
  readonly blocked: boolean
  /** The resource of the oldest alarm in force ("memory", "disk"); undefined when not blocked. */
  readonly blockedReason?: string
  /** Largest message body the broker accepts, in bytes. */
  readonly maxMessageSize: number
  /** Introspection and administration (the management HTTP API). */
  readonly management: Management
}

export interface Connection {
  readonly id: string
  readonly vhost: string
  readonly user: AuthenticatedUser
  /** AMQP channel, MQTT connection or SSE stream: the unit of prefetch, acks and confirms. */
  openSession(events: SessionEvents): Session
  /** Durable small state owned by an adapter (MQTT retained messages, wills). */
  keyValue(namespace: string): KeyValueStore
  /**
   * Closes every session (requeueing their unacked deliveries), then deletes this connection's
   * exclusive queues. Idempotent.
   */
  close(reason?: string): void
  /** Called when the broker itself shuts the connection (SIGTERM: 'connection-forced'). */
  onForcedClose(listener: (error: BrokerError) => void): void
}

export interface DeclareOptions {
  durable?: boolean
  autoDelete?: boolean
  /** Only check existence; never create. Missing entity: BrokerError('not-found'). */
  passive?: boolean
  args?: Table
}

export interface Binding {
  source: string
  destination: string
  destinationKind: 'queue' | 'exchange'
  routingKey: string
  args?: Table
}

export interface QueueInfo {
  name: string
  messages: number
  consumers: number
}

export interface ConsumeOptions {
  /** Empty or absent: the core generates a tag ("amq.ctag-…"). */
  tag?: string
  /** Deliveries are settled at send time (AMQP no-ack, MQTT QoS 0). */
  noAck: boolean
  exclusive?: boolean
  /** Overrides the session's per-consumer prefetch for this consumer (0 = unlimited). */
  prefetch?: number
  /** x-priority, x-cancel-on-ha-failover … */
  args?: Table
}

export interface Delivery {
  /** Per-session, starting at 1 and strictly increasing: AMQP delivery tags. */
  id: number
  consumerTag: string
  queue: string
  message: Message
  redelivered: boolean
  /** 0 on first delivery; counts returns to the queue. */
  deliveryCount: number
  /**
   * Names the message within its queue across broker restarts, for a message that survives one
   * (persistent, on a durable queue, on disk); undefined otherwise. After a restart the message
   * comes back with the same key, so an adapter can recognise one it had delivered before (an SSE
   * stream resumed after a restart skips what its client already confirmed).
   */
  readonly durableKey?: number | undefined
}

export type PublishResult =
  /** Routed to at least one queue. */
  | 'routed'
  /** Routed nowhere (after alternate exchanges): an AMQP mandatory publish gets basic.return. */
  | 'unroutable'

export interface PublishOptions {
  /**
   * Ask for a publisher confirm. The id is the adapter's (AMQP: the channel's publish sequence
   * number); the core answers with `events.settled([id])` once every queue has taken
   * responsibility, or `events.rejected([id])` when a queue refused it (overflow reject-publish).
   * An unroutable message is confirmed too, as RabbitMQ does.
   */
  confirmId?: number
  /**
   * The publisher wants an unroutable message back (AMQP mandatory; the adapter does the
   * returning). Only counted: such publishes show as return_unroutable, others as drop_unroutable.
   */
  mandatory?: boolean
}

export interface Session {
  /** Creates or checks an exchange. Throws on non-equivalent redeclare (precondition-failed). */
  declareExchange(name: string, type: string, opts?: DeclareOptions & { internal?: boolean }): void
  deleteExchange(name: string, opts?: { ifUnused?: boolean }): void
  /** `name` "" asks the core for a server-named queue ("amq.gen-…"). */
  declareQueue(name: string, opts?: DeclareOptions & { exclusive?: boolean }): QueueInfo
  /** Returns the number of messages deleted with the queue. */
  deleteQueue(name: string, opts?: { ifUnused?: boolean; ifEmpty?: boolean }): number
  purgeQueue(name: string): number
  bind(binding: Binding): void
  unbind(binding: Binding): void
  /** Synchronous routing. Throws not-found for a missing exchange, access-refused for internal. */
  publish(message: Message, opts?: PublishOptions): PublishResult
  /** Returns the consumer tag. Deliveries arrive through `events.deliver`. */
  consume(queue: string, opts: ConsumeOptions): string
  /** Returns true when the tag existed on this session. */
  cancel(tag: string): boolean
  /** basic.get: one message or null; `remaining` is the queue depth after the get. */
  get(queue: string, opts: { noAck: boolean }): { delivery: Delivery; remaining: number } | null
  /**
   * Settles deliveries of this session. `{ upTo }` settles every outstanding id <= upTo (AMQP
   * `multiple`; upTo 0 means all). 'requeue' returns to the queue with redelivered set, original
   * position kept; 'reject' discards or dead-letters. Unknown id: precondition-failed
   * ("unknown delivery tag N").
   */
  settle(ids: number | { upTo: number }, op: 'ack' | 'requeue' | 'reject'): void
  /** Requeues every unacked delivery of this session (AMQP basic.recover requeue=true). */
  recover(): void
  /**
   * 'consumer': the limit for consumers created after this call (AMQP basic.qos global=false);
   * 'session': one limit shared by all consumers of the session (global=true). 0 = unlimited.
   */
  setPrefetch(count: number, scope: 'consumer' | 'session'): void
  /** Socket backpressure: false stops deliveries to this session until true again. */
  setWritable(writable: boolean): void
  /** Peer-requested flow control (AMQP channel.flow): false stops deliveries. */
  setFlow(active: boolean): void
  /** Requeues unacked deliveries, cancels consumers, auto-deletes what that empties. Idempotent. */
  close(): void
  readonly unackedCount: number
}

/** What the core asks an adapter to do (RabbitMQ's queue-type "actions"). */
export interface SessionEvents {
  /** Only while writable and within prefetch. Encode, do not flush. */
  deliver(delivery: Delivery): void
  /** End of a delivery burst: write the batch to the socket. */
  flush(): void
  /** Publisher confirms, batched, ascending. */
  settled(confirmIds: readonly number[]): void
  /** Negative confirms (overflow reject-publish), ascending. */
  rejected(confirmIds: readonly number[]): void
  /** The server cancelled a consumer (its queue was deleted). */
  consumerCancelled(tag: string): void
  /** The core ends the session on its own (e.g. broker shutdown). */
  closed(error: BrokerError): void
}

export interface KeyValueStore {
  get(key: string): Uint8Array | undefined
  /** null deletes; writes are durable when the promise settles. */
  set(key: string, value: Uint8Array | null): Promise<void>
  entries(prefix?: string): Iterable<[string, Uint8Array]>
}

// The management seam (api.Management and its summaries) lives in management_api.ts so this
// file stays readable; adapters import it from here like everything else.
export type * from './management_api.ts'
