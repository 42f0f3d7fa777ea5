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
  /** Fires whenever the broker enters or leaves a resource alarm (memory, later disk). */
  onBlocked(listener: (blocked: boolean, reason: string) => void): () => void
  readonly blocked: boolean
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

// ---- Management: what operators and tools see and change (the management HTTP API) ----------

/** Cumulative message counters of a queue, a vhost or the broker (RabbitMQ's message_stats). */
export interface MessageStats {
  /** Messages published (vhost, broker) or enqueued (queue). */
  publish: number
  /** Publisher confirms sent. */
  confirm: number
  /** Publishes that reached no queue. */
  unroutable: number
  /** Deliveries to consumers that acknowledge. */
  deliver: number
  deliverNoAck: number
  /** Messages taken by get() with and without acknowledgement. */
  get: number
  getNoAck: number
  /** get() calls that found the queue empty. */
  getEmpty: number
  ack: number
  /** Deliveries and gets of messages delivered before. */
  redeliver: number
}

/**
 * Counters with their rates per second. A rate is the change between the last two samples,
 * taken when asked and at least a second apart; 0 until the second sample.
 */
export interface Activity {
  totals: MessageStats
  rates: MessageStats
}

/** Message counts of one queue or a sum of queues, with their rates of change per second. */
export interface QueueLengths {
  /** ready + unacked */
  messages: number
  ready: number
  unacked: number
  messagesRate: number
  readyRate: number
  unackedRate: number
}

export interface BrokerOverview {
  productName: string
  productVersion: string
  /** This broker's node name. */
  node: string
  /** Epoch ms. */
  startedAt: number
  /** Registered exchange types. */
  exchangeTypes: string[]
  totals: { connections: number; sessions: number; consumers: number; exchanges: number; queues: number; vhosts: number }
  lengths: QueueLengths
  activity: Activity
  /** Resource alarms in force ("memory"). */
  alarms: string[]
  /** Bytes of message bodies held, and the level at which publishers are blocked (0: none). */
  heldBytes: number
  memoryLimit: number
}

export interface VhostMetadata {
  description: string
  tags: string[]
  defaultQueueType: string
}

export interface VhostSummary extends VhostMetadata {
  name: string
  lengths: QueueLengths
  activity: Activity
}

export interface ExchangeSummary {
  vhost: string
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  args: Table
}

export interface QueueSummary {
  vhost: string
  name: string
  durable: boolean
  autoDelete: boolean
  exclusive: boolean
  /** The id of the connection that owns an exclusive queue. */
  ownerConnection: string | undefined
  args: Table
  consumers: number
  /** Single-active-consumer queues: the tag of the consumer receiving. */
  activeConsumer: string | undefined
  readyBytes: number
  unackedBytes: number
  lengths: QueueLengths
  activity: Activity
}

export interface BindingSummary extends Binding {
  vhost: string
}

export interface ConnectionSummary {
  id: string
  /** Unique while open: "peer:port -> local:port", or "peer:port -> #id" when the local end is unknown. */
  name: string
  protocol: ConnectInfo['protocol']
  vhost: string
  user: string
  remoteAddress: string
  remotePort: number | undefined
  clientName: string | undefined
  clientProperties: Table | undefined
  /** Epoch ms. */
  connectedAt: number
  sessions: number
}

export interface SessionSummary {
  connectionId: string
  connectionName: string
  /** 1, 2, … in the order the connection opened its sessions. */
  number: number
  vhost: string
  user: string
  consumers: number
  unacked: number
  /** The per-consumer limit for new consumers and the session-wide one (0 = none). */
  prefetch: number
  globalPrefetch: number
}

export interface ConsumerSummary {
  tag: string
  vhost: string
  queue: string
  connectionId: string
  connectionName: string
  sessionNumber: number
  user: string
  noAck: boolean
  exclusive: boolean
  prefetch: number
  priority: number
  /** False for the waiting consumers of a single-active-consumer queue. */
  active: boolean
}

export interface UserSummary {
  name: string
  /** RabbitMQ's format (see src/auth/users.ts); "" when the user cannot log in by password. */
  passwordHash: string
  hashingAlgorithm: string
  tags: string[]
}

/** Either a password (hashed here) or a hash in RabbitMQ's format; neither keeps the old one. */
export interface UserUpdate {
  password?: string
  passwordHash?: string
  hashingAlgorithm?: string
  tags: string[]
}

export interface PermissionSummary {
  user: string
  vhost: string
  /** Regular expressions, as RabbitMQ stores them. */
  configure: string
  write: string
  read: string
}

/**
 * RabbitMQ's definitions file format (snake_case, as `rabbitmqctl export_definitions` writes it),
 * so definitions move between RabbitMQ and Warren unchanged. Categories Warren has no use for
 * (policies, parameters …) are exported empty and ignored on import.
 */
export interface Definitions {
  rabbit_version?: string
  rabbitmq_version?: string
  product_name?: string
  product_version?: string
  users?: { name: string; password_hash: string; hashing_algorithm?: string; tags: string[] | string; limits?: Table }[]
  vhosts?: {
    name: string
    description?: string
    tags?: string[] | string
    default_queue_type?: string
    metadata?: { description?: string; tags?: string[]; default_queue_type?: string }
  }[]
  permissions?: PermissionSummary[]
  topic_permissions?: unknown[]
  parameters?: unknown[]
  global_parameters?: unknown[]
  policies?: unknown[]
  queues?: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: Table; type?: string }[]
  exchanges?: {
    name: string
    vhost: string
    type: string
    durable: boolean
    auto_delete: boolean
    internal: boolean
    arguments: Table
  }[]
  bindings?: {
    source: string
    vhost: string
    destination: string
    destination_type: 'queue' | 'exchange'
    routing_key: string
    arguments: Table
  }[]
}

/** A message taken by ManagementActor.getMessages. */
export interface FetchedMessage {
  message: Message
  redelivered: boolean
  /** Ready messages left in the queue right after this one was taken. */
  remaining: number
}

/**
 * Topology and message operations in one vhost with one user's permissions, checked and failing
 * exactly as the same Session calls do. The actor owns no exclusive queue.
 */
export interface ManagementActor
  extends Pick<Session, 'declareExchange' | 'deleteExchange' | 'declareQueue' | 'deleteQueue' | 'purgeQueue' | 'bind' | 'unbind'> {
  /**
   * Takes up to `count` ready messages, then settles them all: 'ack' removes them, 'requeue'
   * puts them back (redelivered), 'reject' dead-letters or drops them.
   */
  getMessages(queue: string, opts: { count: number; settle: 'ack' | 'requeue' | 'reject' }): FetchedMessage[]
}

/**
 * Introspection and administration. Lists are fresh arrays in no particular order; callers sort
 * and page. Every method is synchronous and does per-item work proportional to what it returns.
 */
export interface Management {
  overview(): BrokerOverview
  /** Whether `user` has any permission in `vhost` (may open connections there). */
  canAccessVhost(vhost: string, user: string): boolean
  hasVhost(name: string): boolean
  vhosts(): VhostSummary[]
  vhost(name: string): VhostSummary | undefined
  /**
   * Creates a vhost (true; `actingUser` gets full permissions in it, as RabbitMQ's management
   * does) or updates the metadata of an existing one (false).
   */
  putVhost(name: string, metadata: Partial<VhostMetadata>, actingUser?: string): boolean
  /** Force-closes its connections, deletes its queues and exchanges and permissions. False if missing. */
  deleteVhost(name: string): boolean
  exchanges(vhost?: string): ExchangeSummary[]
  exchange(vhost: string, name: string): ExchangeSummary | undefined
  queues(vhost?: string): QueueSummary[]
  queue(vhost: string, name: string): QueueSummary | undefined
  bindings(vhost?: string): BindingSummary[]
  connections(): ConnectionSummary[]
  /** By name or id. */
  connection(nameOrId: string): ConnectionSummary | undefined
  /** Force-closes a connection (clients see 'connection-forced' with `reason`). False if missing. */
  closeConnection(nameOrId: string, reason: string): boolean
  sessions(): SessionSummary[]
  consumers(vhost?: string): ConsumerSummary[]
  users(): UserSummary[]
  user(name: string): UserSummary | undefined
  /** Creates (true) or replaces (false) a user. Throws invalid-argument for an unknown hashing algorithm. */
  putUser(name: string, update: UserUpdate): boolean
  /** Deletes a user and their permissions. False if missing. */
  deleteUser(name: string): boolean
  permissions(): PermissionSummary[]
  permission(vhost: string, user: string): PermissionSummary | undefined
  /**
   * Creates (true) or replaces (false) a permission entry. Throws not-found for a missing user or
   * vhost, invalid-argument for a bad regular expression.
   */
  setPermission(permission: PermissionSummary): boolean
  deletePermission(vhost: string, user: string): boolean
  /** Users, vhosts, permissions, and the non-exclusive queues, non-amq.* exchanges and their bindings. */
  exportDefinitions(): Definitions
  /**
   * Creates what the definitions describe, in RabbitMQ's order (users, vhosts, permissions,
   * queues, exchanges, bindings); existing entities must be equivalent. Throws BrokerError.
   */
  importDefinitions(definitions: Definitions): void
  /** Operations in `vhost` as `user`. Throws not-found when the vhost does not exist. */
  actor(vhost: string, user: AuthenticatedUser): ManagementActor
}
