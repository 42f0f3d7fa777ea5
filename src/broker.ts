/**
 * The broker: users and permissions, vhosts, connections and the resource alarm. Implements
 * api.Broker; server.ts creates one with `createBroker` and hands it to the adapters.
 *
 * @module
 */
import {
  type AuthenticatedUser,
  type Broker,
  BrokerError,
  type Connection,
  type ConnectInfo,
  type KeyValueStore,
  type Management,
} from './api.ts'
import { PermissionStore } from './auth/permissions.ts'
import { checkPassword, UserStore } from './auth/users.ts'
import { CoreConnection } from './core/connection.ts'
import { DirectReply } from './core/direct_reply.ts'
import { brokerError } from './core/errors.ts'
import { DiskAlarm } from './core/disk_alarm.ts'
import { MemoryAlarm } from './core/memory_alarm.ts'
import { CoreManagement } from './core/management/mod.ts'
import { FlushScheduler } from './core/scheduler.ts'
import { restoreVhost } from './core/restore.ts'
import { Vhost } from './core/vhost.ts'
import { freeSpace } from './runtime/fs.ts'
import { log } from './log.ts'
import { DataDir } from './store/data_dir.ts'
import { MemoryKeyValueStore } from './store/memory_key_value.ts'
import { memoryStoreFactory } from './store/memory_store.ts'
import type { StoreFactory } from './store/store.ts'

export interface BrokerOptions {
  dataDir: string
  /** Largest message body accepted, in bytes. */
  maxMessageSize: number
  /** Bytes of message bodies held by queues above which the broker is blocked; 0 disables. */
  memoryHighWatermark: number
  /** Free bytes on the data directory's filesystem below which the broker is blocked; 0 (or absent) disables. */
  diskFreeLimit?: number
  /** Where the disk alarm reads free bytes from; default statfs of `dataDir` (tests inject a fake). */
  diskFree?: () => number | Promise<number>
  /** Time between disk free space checks, ms (default 2000). */
  diskCheckIntervalMs?: number
  /** 0 = unlimited. */
  maxConnections: number
  /** Created with tag administrator and full permissions on "/". */
  defaultUser: { username: string; password: string }
  /** Users allowed only from loopback (RabbitMQ: ["guest"]). */
  loopbackUsers: string[]
  /** Where queues keep messages; the data directory's when `data` is set, else memory. */
  storeFactory?: StoreFactory
  /**
   * The opened data directory (`openBroker` opens `dataDir`): durable definitions, persistent
   * messages and adapters' key-value state live there and are restored from it. Absent:
   * everything is in memory (unit tests).
   */
  data?: DataDir
  /** Bytes of persistent message bodies durable queues keep in memory (openBroker); the rest is read back from disk. */
  storeMemoryLimit?: number
  /** Bytes of transient message bodies queues keep in memory before paging them out (openBroker). */
  transientMemoryLimit?: number
}

export interface WarrenBroker extends Broker {
  /**
   * Every open connection gets onForcedClose(BrokerError('connection-forced', "broker forced
   * connection closure with reason 'shutdown'")), then state is flushed.
   */
  shutdown(reason?: string): Promise<void>
  readonly connectionCount: number
  readonly users: UserStore
  readonly permissions: PermissionStore
  /** Creates a vhost with the predeclared amq.* exchanges; existing ones are kept. */
  addVhost(name: string): void
  /** Bytes of message bodies currently held (what the memory alarm measures). */
  readonly heldBytes: number
}

const DEFAULT_VHOST = '/'

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms, as rabbit_net:is_loopback/1. */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a)
}

class CoreBroker implements WarrenBroker {
  readonly maxMessageSize: number
  readonly users = new UserStore({ onChange: (name, record) => this.#data?.definitions.userChanged(name, record) })
  readonly permissions = new PermissionStore({
    onChange: (vhost, user, p) => this.#data?.definitions.permissionChanged(vhost, user, p),
    onTopicChange: (vhost, user, exchange, p) => this.#data?.definitions.topicPermissionChanged(vhost, user, exchange, p),
  })
  #opts: BrokerOptions
  #data: DataDir | undefined
  #storeFactory: StoreFactory
  #vhosts = new Map<string, Vhost>()
  #connections = new Set<CoreConnection>()
  #alarm: MemoryAlarm
  #disk: DiskAlarm
  /** Alarms in force ("memory", "disk"), oldest first: the first names the blocked reason. */
  #alarms: string[] = []
  #blockedListeners = new Set<(blocked: boolean, reason: string) => void>()
  #scheduler = new FlushScheduler()
  #directReply = new DirectReply()
  #keyValues = new Map<string, KeyValueStore>()
  #nextConnection = 1
  #stopped = false
  readonly management: Management

  constructor(opts: BrokerOptions) {
    this.#opts = opts
    this.#data = opts.data
    this.#storeFactory = opts.storeFactory ?? opts.data?.storeFactory ?? memoryStoreFactory
    this.maxMessageSize = opts.maxMessageSize
    this.#alarm = new MemoryAlarm(opts.memoryHighWatermark)
    const dataDir = opts.dataDir
    this.#disk = new DiskAlarm({
      limit: opts.diskFreeLimit ?? 0,
      freeSpace: opts.diskFree ?? (() => freeSpace(dataDir)),
      intervalMs: opts.diskCheckIntervalMs ?? 2000,
    })
    this.#alarm.onChange((on, reason) => this.#alarmChanged(on, reason))
    this.#disk.onChange((on, reason) => this.#alarmChanged(on, reason))
    this.management = new CoreManagement({
      vhosts: this.#vhosts,
      connections: this.#connections,
      users: this.users,
      permissions: this.permissions,
      alarm: this.#alarm,
      alarms: () => [...this.#alarms],
      memoryLimit: Math.max(0, opts.memoryHighWatermark),
      disk: this.#disk,
      directReply: this.#directReply,
      addVhost: (name) => this.addVhost(name),
      removeVhost: (name) => this.#removeVhost(name),
    })
    if (opts.data !== undefined && !opts.data.definitions.fresh) {
      this.#restore(opts.data)
      return
    }
    // First start (RabbitMQ: a fresh node): the default vhost and user.
    this.addVhost(DEFAULT_VHOST)
    const { username, password } = opts.defaultUser
    this.users.add(username, password, ['administrator'])
    this.permissions.set(DEFAULT_VHOST, username, { configure: '.*', write: '.*', read: '.*' })
  }

  get blocked(): boolean {
    return this.#alarms.length > 0
  }

  /** Starts the periodic free disk space check (after a successful restore); shutdown stops it. */
  startDiskAlarm(): void {
    this.#disk.start()
  }

  get blockedReason(): string | undefined {
    return this.#alarms[0]
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  get heldBytes(): number {
    return this.#alarm.held
  }

  addVhost(name: string): void {
    if (this.#vhosts.has(name)) return
    const observer = this.#data?.definitions
    const vhost = new Vhost(name, { alarm: this.#alarm, storeFactory: this.#storeFactory, observer })
    this.#vhosts.set(name, vhost)
    observer?.vhostChanged(name, vhost.metadata)
  }

  authenticate(info: { username: string; password: string; remoteAddress: string }): AuthenticatedUser {
    const user = this.users.get(info.username)
    if (user === undefined || !checkPassword(user, info.password)) {
      throw brokerError('access-refused', `user '${info.username}' - invalid credentials`)
    }
    if (this.#opts.loopbackUsers.includes(user.name) && !isLoopback(info.remoteAddress)) {
      throw brokerError('access-refused', `user '${user.name}' can only connect via localhost`)
    }
    return { name: user.name, tags: [...user.tags] }
  }

  connect(info: ConnectInfo): Connection {
    const max = this.#opts.maxConnections
    // RabbitMQ refuses with NOT_ALLOWED (rabbit_reader:is_over_node_connection_limit/1).
    if (this.#stopped || (max > 0 && this.#connections.size >= max)) {
      throw brokerError('not-allowed', `connection refused: node connection limit (${max}) is reached`)
    }
    const vhost = this.#vhosts.get(info.vhost)
    if (vhost === undefined) throw brokerError('not-allowed', `vhost ${info.vhost} not found`)
    if (!this.permissions.canAccessVhost(info.vhost, info.user.name)) {
      throw brokerError('not-allowed', `access to vhost '${info.vhost}' refused for user '${info.user.name}'`)
    }
    const connection = new CoreConnection(`${this.#nextConnection++}`, info, vhost, {
      permissions: this.permissions,
      scheduler: this.#scheduler,
      directReply: this.#directReply,
      maxMessageSize: this.maxMessageSize,
      keyValue: (namespace) => this.#keyValue(namespace),
      closed: (c) => this.#connections.delete(c),
    })
    this.#connections.add(connection)
    return connection
  }

  onBlocked(listener: (blocked: boolean, reason: string) => void): () => void {
    this.#blockedListeners.add(listener)
    return () => void this.#blockedListeners.delete(listener)
  }

  /**
   * Blocked while any alarm is on. Listeners hear when the broker becomes blocked or unblocked,
   * and (blocked, new reason) when the oldest alarm clears while another is still on.
   */
  #alarmChanged(on: boolean, reason: string): void {
    const before = this.#alarms[0]
    this.#alarms = this.#alarms.filter((r) => r !== reason)
    if (on) this.#alarms.push(reason)
    const after = this.#alarms[0]
    if (after === before) return
    const blocked = after !== undefined
    for (const listener of [...this.#blockedListeners]) {
      try {
        listener(blocked, after ?? reason)
      } catch (error) {
        // One adapter's listener must not stop the others hearing about the alarm.
        log.error('Resource alarm listener failed', { error: String(error) })
      }
    }
  }

  async shutdown(reason?: string): Promise<void> {
    this.#stopped = true
    this.#disk.stop()
    const text =
      reason === undefined
        ? "broker forced connection closure with reason 'shutdown'"
        : reason.startsWith('broker forced')
          ? reason
          : `broker forced connection closure with reason '${reason}'`
    const error = new BrokerError('connection-forced', text, { scope: 'connection' })
    for (const connection of [...this.#connections]) connection.forceClose(error)
    // Queue timers (TTL, x-expires) must not keep the process alive; stores flush.
    const flushes: Promise<void>[] = []
    for (const vhost of this.#vhosts.values()) for (const q of vhost.queues.values()) flushes.push(q.stop())
    await Promise.all(flushes)
    await this.#data?.close()
  }

  /** RabbitMQ (rabbit_vhost:delete/2): connections are closed first, then everything in it goes. */
  #removeVhost(name: string): void {
    const vhost = this.#vhosts.get(name)
    if (vhost === undefined) return
    const error = new BrokerError('connection-forced', `vhost '${name}' is deleted`, { scope: 'connection' })
    for (const connection of [...this.#connections]) if (connection.vhost === name) connection.forceClose(error)
    for (const q of [...vhost.queues.values()]) vhost.removeQueue(q)
    this.#vhosts.delete(name)
    this.permissions.deleteVhost(name)
    this.#data?.definitions.vhostRemoved(name)
  }

  /** Everything durable back from the data directory, before any client can connect. */
  #restore(data: DataDir): void {
    const definitions = data.definitions
    const model = definitions.model
    definitions.muted = true
    try {
      if (!definitions.damaged) data.storeFactory.removeOrphans(model.queues())
      for (const user of model.users.values()) this.users.put(user)
      for (const [name, defs] of model.vhosts) {
        this.addVhost(name)
        const vhost = this.#vhosts.get(name)!
        vhost.metadata = defs.metadata
        for (const [user, p] of defs.permissions) this.permissions.set(name, user, p)
        for (const [user, byExchange] of defs.topicPermissions) {
          for (const p of byExchange.values()) this.permissions.topics.set(name, user, p)
        }
        restoreVhost(vhost, defs)
      }
    } finally {
      definitions.muted = false
    }
  }

  #keyValue(namespace: string): KeyValueStore {
    let store = this.#keyValues.get(namespace)
    if (store === undefined) {
      store = this.#data?.keyValue(namespace) ?? new MemoryKeyValueStore()
      this.#keyValues.set(namespace, store)
    }
    return store
  }
}

/** Creates a broker with the default vhost "/" and the default user. */
export function createBroker(opts: BrokerOptions): WarrenBroker {
  const broker = new CoreBroker(opts)
  broker.startDiskAlarm()
  return broker
}

/**
 * Opens (locks, creating it) `opts.dataDir` and creates a broker on it: on a first start with
 * the default vhost and user, otherwise with every durable definition and every unsettled
 * persistent message restored. Throws when another broker holds the directory.
 */
export async function openBroker(opts: BrokerOptions): Promise<WarrenBroker> {
  const data = new DataDir({ path: opts.dataDir, memoryLimit: opts.storeMemoryLimit, transientMemoryLimit: opts.transientMemoryLimit })
  try {
    return createBroker({ ...opts, data })
  } catch (error) {
    await data.close()
    throw error
  }
}
