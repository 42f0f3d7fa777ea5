/**
 * The management part of the core <-> adapter seam: api.Management, what operators and tools
 * (the management HTTP API) see and change, and the neutral summaries it hands out. Re-exported
 * by src/api.ts; adapters import it from there.
 *
 * @module
 */
import type { AuthenticatedUser, Binding, ConnectInfo, Message, Session, Table } from './api.ts'

/** Cumulative message counters of a queue, a vhost or the broker (RabbitMQ's message_stats). */
export interface MessageStats {
  /** Messages published (vhost, broker) or enqueued (queue). */
  publish: number
  /** Publisher confirms sent. */
  confirm: number
  /** Publishes that reached no queue. */
  unroutable: number
  /** Of those, the ones the publisher asked to get back (PublishOptions.mandatory). */
  returned: number
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
  /** Resource alarms in force, oldest first ("memory", "disk"). */
  alarms: string[]
  /** Bytes of message bodies held, and the level at which publishers are blocked (0: none). */
  heldBytes: number
  memoryLimit: number
}

/**
 * This broker process as RabbitMQ shows a node (/api/nodes). What the runtime cannot tell is 0,
 * never a guess.
 */
export interface NodeSummary {
  /** Same as BrokerOverview.node. */
  name: string
  /** Epoch ms. */
  startedAt: number
  /** Bytes of message bodies held: what the memory alarm compares with `memoryLimit`. */
  memoryUsed: number
  /** The memory high watermark in bytes (0: no memory alarm). */
  memoryLimit: number
  memoryAlarm: boolean
  /** Free bytes on the data directory's filesystem at the last check; 0 before one or when not checked. */
  diskFree: number
  /** The disk free limit in bytes (0: no disk alarm). */
  diskFreeLimit: number
  diskAlarm: boolean
  /** Open file descriptors and their limit (0 when the platform does not tell). */
  fdUsed: number
  fdTotal: number
  /** Open client connections (each holds one socket). */
  connections: number
  processors: number
  pid: number
  exchangeTypes: string[]
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
  /** The name of the effective policy, if any. */
  policy?: string
}

/**
 * A user policy (RabbitMQ's policy JSON, camelCased): `pattern` matches queue and exchange
 * names; the matching policy with the highest priority applies.
 */
export interface PolicySummary {
  vhost: string
  name: string
  pattern: string
  /** 'all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues' or 'streams'. */
  applyTo: string
  priority: number
  definition: Record<string, unknown>
}

/** A policy as a definitions file and the management PUT body carry it. */
export interface PolicyDefinitionJson {
  vhost: string
  name: string
  pattern: string
  'apply-to'?: string
  definition: Record<string, unknown>
  priority?: number
}

export interface QueueSummary {
  vhost: string
  name: string
  /** 'classic' or 'quorum'; absent: classic. */
  type?: string
  durable: boolean
  autoDelete: boolean
  exclusive: boolean
  /** The id of the connection that owns an exclusive queue. */
  ownerConnection: string | undefined
  args: Table
  /** The name of the effective policy, if any, and its definition. */
  policy?: string
  effectivePolicyDefinition?: Record<string, unknown>
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
  /** The server's end; undefined when the adapter does not know it. */
  localAddress: string | undefined
  localPort: number | undefined
  /** Negotiated limits (ConnectInfo); 0 when the adapter gave none. */
  maxSessions: number
  maxFrameSize: number
  heartbeatSeconds: number
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

/** A password (hashed here) or a hash in RabbitMQ's format; with neither the user cannot log in by password. */
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

/** A topic permission: routing (write) and binding (read) key patterns for one exchange. */
export interface TopicPermissionSummary {
  user: string
  vhost: string
  exchange: string
  /** Regular expressions, as RabbitMQ stores them; may use {username}, {vhost}, {client_id}. */
  write: string
  read: string
}

/**
 * RabbitMQ's definitions file format (snake_case, as `rabbitmqctl export_definitions` writes it),
 * so definitions move between RabbitMQ and Warren unchanged. Categories Warren has no use for
 * (parameters, topic permissions …) are exported empty and ignored on import.
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
  topic_permissions?: TopicPermissionSummary[]
  parameters?: unknown[]
  global_parameters?: unknown[]
  policies?: PolicyDefinitionJson[]
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
  /** The one node (this process). */
  node(): NodeSummary
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
  /** Topic permissions, of everyone or filtered by vhost and/or user. */
  topicPermissions(filter?: { vhost?: string; user?: string }): TopicPermissionSummary[]
  /**
   * Creates (true) or replaces (false) the topic permission of a user for one exchange. Throws
   * not-found for a missing user or vhost, invalid-argument for a bad regular expression.
   */
  setTopicPermission(permission: TopicPermissionSummary): boolean
  /** Deletes the user's topic permission for `exchange`, or all in the vhost. False if there was none. */
  deleteTopicPermissions(vhost: string, user: string, exchange?: string): boolean
  /** User policies, of one vhost or all, highest priority first. */
  policies(vhost?: string): PolicySummary[]
  policy(vhost: string, name: string): PolicySummary | undefined
  /**
   * Creates (true) or replaces (false) a policy and applies it to existing queues and exchanges
   * at once. Throws not-found for a missing vhost, invalid-argument (RabbitMQ's validation
   * text) for a bad pattern, apply-to, priority or definition.
   */
  putPolicy(vhost: string, name: string, input: { pattern?: unknown; definition?: unknown; priority?: unknown; 'apply-to'?: unknown }): boolean
  /** Deletes a policy; entities it applied to fall back to the next match. False if missing. */
  deletePolicy(vhost: string, name: string): boolean
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
