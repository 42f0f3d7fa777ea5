/**
 * api.Management over the broker's state. The broker hands in its internals (ManagementHost);
 * everything here reads them, except the administrative calls that go through the stores and
 * the topology checks every session uses.
 *
 * @module
 */
import { hostname } from 'node:os'
import {
  type AuthenticatedUser,
  type BindingSummary,
  type BrokerOverview,
  BrokerError,
  type ConnectionSummary,
  type ConsumerSummary,
  type Definitions,
  type ExchangeSummary,
  type Management,
  type ManagementActor,
  type NodeSummary,
  type PermissionSummary,
  type TopicPermissionSummary,
  type PolicySummary,
  type QueueSummary,
  type SessionSummary,
  type UserSummary,
  type UserUpdate,
  type VhostMetadata,
  type VhostSummary,
} from '../../api.ts'
import type { PermissionStore } from '../../auth/permissions.ts'
import type { UserStore } from '../../auth/users.ts'
import type { CoreConnection } from '../connection.ts'
import type { DirectReply } from '../direct_reply.ts'
import { exchangeTypeNames } from '../exchange_type.ts'
import type { MemoryAlarm } from '../memory_alarm.ts'
import { ActivitySampler, addCounters, MessageCounters } from '../stats.ts'
import type { Vhost } from '../vhost.ts'
import { CoreManagementActor } from './actor.ts'
import * as admin from './admin.ts'
import { connectionConsumers, connectionName, connectionSummary, sessionSummary } from './clients.ts'
import { exportAccess, exportEntities, importDefinitions } from './definitions.ts'
import { comparePolicies, parsePolicy, type Policy } from '../policy.ts'
import { fileDescriptorLimit, openFileDescriptors, processId, processorCount } from './node_info.ts'
import { exchangeSummary, queueSummary, sampleActivity, vhostBindings, vhostLengths, vhostSummary } from './summaries.ts'

/** Kept in step with package.json. */
export const PRODUCT_VERSION = '0.1.0'
const FULL_ACCESS = { configure: '.*', write: '.*', read: '.*' }

/** The broker internals management reads and changes. */
export interface ManagementHost {
  readonly vhosts: ReadonlyMap<string, Vhost>
  readonly connections: ReadonlySet<CoreConnection>
  readonly users: UserStore
  readonly permissions: PermissionStore
  readonly alarm: MemoryAlarm
  /** Resource alarms in force, oldest first ("memory", "disk"). */
  alarms(): string[]
  /** Bytes held at which publishers are blocked; 0 when the alarm is off. */
  readonly memoryLimit: number
  /** The disk alarm's last reading and limit (bytes); absent in tests without one. */
  readonly disk?: { readonly free: number | undefined; readonly limit: number }
  readonly directReply: DirectReply
  /** Creates a vhost with its amq.* exchanges. */
  addVhost(name: string): void
  /** Force-closes the vhost's connections, deletes its queues, drops it. */
  removeVhost(name: string): void
}

export class CoreManagement implements Management {
  readonly #host: ManagementHost
  readonly #startedAt = Date.now()
  readonly #node = `warren@${hostname()}`
  /** Counters of deleted vhosts, so broker totals never go backwards. */
  readonly #retired = new MessageCounters()
  readonly #overview = { stats: new MessageCounters(), sampler: new ActivitySampler() as ActivitySampler | undefined }

  constructor(host: ManagementHost) {
    this.#host = host
  }

  overview(): BrokerOverview {
    const host = this.#host
    const stats = new MessageCounters()
    addCounters(stats, this.#retired)
    let ready = 0
    let unacked = 0
    let exchanges = 0
    let queues = 0
    for (const v of host.vhosts.values()) {
      addCounters(stats, v.stats)
      const lengths = vhostLengths(v)
      ready += lengths.ready
      unacked += lengths.unacked
      exchanges += v.exchanges.size
      queues += v.queues.size
    }
    let sessions = 0
    let consumers = 0
    for (const c of host.connections) {
      sessions += c.sessions.size
      for (const s of c.sessions) consumers += s.consumers.size
    }
    this.#overview.stats = stats
    const { lengths, activity } = sampleActivity(this.#overview, ready, unacked, Date.now())
    return {
      productName: 'Warren',
      productVersion: PRODUCT_VERSION,
      node: this.#node,
      startedAt: this.#startedAt,
      exchangeTypes: exchangeTypeNames(),
      totals: { connections: host.connections.size, sessions, consumers, exchanges, queues, vhosts: host.vhosts.size },
      lengths,
      activity,
      alarms: host.alarms(),
      heldBytes: host.alarm.held,
      memoryLimit: host.memoryLimit,
    }
  }

  node(): NodeSummary {
    const host = this.#host
    const alarms = host.alarms()
    return {
      name: this.#node,
      startedAt: this.#startedAt,
      memoryUsed: host.alarm.held,
      memoryLimit: host.memoryLimit,
      memoryAlarm: alarms.includes('memory'),
      diskFree: host.disk?.free ?? 0,
      diskFreeLimit: host.disk?.limit ?? 0,
      diskAlarm: alarms.includes('disk'),
      fdUsed: openFileDescriptors(),
      fdTotal: fileDescriptorLimit(),
      connections: host.connections.size,
      processors: processorCount(),
      pid: processId(),
      exchangeTypes: exchangeTypeNames(),
    }
  }

  canAccessVhost(vhost: string, user: string): boolean {
    return this.#host.permissions.canAccessVhost(vhost, user)
  }

  hasVhost(name: string): boolean {
    return this.#host.vhosts.has(name)
  }

  vhosts(): VhostSummary[] {
    const now = Date.now()
    return [...this.#host.vhosts.values()].map((v) => vhostSummary(v, now))
  }

  vhost(name: string): VhostSummary | undefined {
    const v = this.#host.vhosts.get(name)
    return v === undefined ? undefined : vhostSummary(v, Date.now())
  }

  putVhost(name: string, metadata: Partial<VhostMetadata>, actingUser?: string): boolean {
    const host = this.#host
    const existing = host.vhosts.get(name)
    if (existing === undefined) host.addVhost(name)
    const v = host.vhosts.get(name)!
    const m = v.metadata
    v.metadata = {
      description: metadata.description ?? m.description,
      tags: metadata.tags === undefined ? m.tags : [...metadata.tags],
      defaultQueueType: metadata.defaultQueueType ?? m.defaultQueueType,
    }
    if (existing !== undefined) return false
    if (actingUser !== undefined && host.users.get(actingUser) !== undefined) {
      host.permissions.set(name, actingUser, FULL_ACCESS)
    }
    return true
  }

  deleteVhost(name: string): boolean {
    const v = this.#host.vhosts.get(name)
    if (v === undefined) return false
    addCounters(this.#retired, v.stats)
    this.#host.removeVhost(name)
    return true
  }

  exchanges(vhost?: string): ExchangeSummary[] {
    const out: ExchangeSummary[] = []
    for (const v of this.#selected(vhost)) for (const x of v.exchanges.values()) out.push(exchangeSummary(v.name, x))
    return out
  }

  exchange(vhost: string, name: string): ExchangeSummary | undefined {
    const x = this.#host.vhosts.get(vhost)?.exchanges.get(name)
    return x === undefined ? undefined : exchangeSummary(vhost, x)
  }

  queues(vhost?: string): QueueSummary[] {
    const now = Date.now()
    const out: QueueSummary[] = []
    for (const v of this.#selected(vhost)) for (const q of v.queues.values()) out.push(queueSummary(v.name, q, now))
    return out
  }

  queue(vhost: string, name: string): QueueSummary | undefined {
    const q = this.#host.vhosts.get(vhost)?.queues.get(name)
    return q === undefined ? undefined : queueSummary(vhost, q, Date.now())
  }

  bindings(vhost?: string): BindingSummary[] {
    const out: BindingSummary[] = []
    for (const v of this.#selected(vhost)) vhostBindings(v, out)
    return out
  }

  connections(): ConnectionSummary[] {
    return [...this.#host.connections].map(connectionSummary)
  }

  connection(nameOrId: string): ConnectionSummary | undefined {
    const c = this.#findConnection(nameOrId)
    return c === undefined ? undefined : connectionSummary(c)
  }

  closeConnection(nameOrId: string, reason: string): boolean {
    const c = this.#findConnection(nameOrId)
    if (c === undefined) return false
    c.forceClose(new BrokerError('connection-forced', reason, { scope: 'connection' }))
    return true
  }

  sessions(): SessionSummary[] {
    const out: SessionSummary[] = []
    for (const c of this.#host.connections) {
      const name = connectionName(c)
      for (const s of c.sessions) out.push(sessionSummary(s, name))
    }
    return out
  }

  consumers(vhost?: string): ConsumerSummary[] {
    const out: ConsumerSummary[] = []
    for (const c of this.#host.connections) if (vhost === undefined || c.vhost === vhost) connectionConsumers(c, out)
    return out
  }

  users(): UserSummary[] {
    return this.#host.users.list().map(admin.userSummary)
  }

  user(name: string): UserSummary | undefined {
    const u = this.#host.users.get(name)
    return u === undefined ? undefined : admin.userSummary(u)
  }

  putUser(name: string, update: UserUpdate): boolean {
    return admin.putUser(this.#host.users, name, update)
  }

  deleteUser(name: string): boolean {
    return admin.deleteUser(this.#host.users, this.#host.permissions, name)
  }

  permissions(): PermissionSummary[] {
    return admin.permissionList(this.#host.permissions)
  }

  permission(vhost: string, user: string): PermissionSummary | undefined {
    const p = this.#host.permissions.get(vhost, user)
    return p === undefined ? undefined : { user, vhost, ...p }
  }

  setPermission(permission: PermissionSummary): boolean {
    const host = this.#host
    return admin.setPermission(host.users, host.permissions, host.vhosts.has(permission.vhost), permission)
  }

  deletePermission(vhost: string, user: string): boolean {
    return this.#host.permissions.delete(vhost, user)
  }

  topicPermissions(filter: { vhost?: string; user?: string } = {}): TopicPermissionSummary[] {
    return admin.topicPermissionList(this.#host.permissions.topics, filter)
  }

  setTopicPermission(permission: TopicPermissionSummary): boolean {
    const host = this.#host
    return admin.setTopicPermission(host.users, host.permissions.topics, host.vhosts.has(permission.vhost), permission)
  }

  deleteTopicPermissions(vhost: string, user: string, exchange?: string): boolean {
    return this.#host.permissions.topics.delete(vhost, user, exchange)
  }

  policies(vhost?: string): PolicySummary[] {
    const all: Policy[] = []
    for (const v of this.#selected(vhost)) for (const p of v.policies.values()) all.push(p)
    // rabbit_policy:list/1 sorts by priority, lowest first.
    return all.sort((a, b) => a.priority - b.priority || comparePolicies(a, b)).map(policySummary)
  }

  policy(vhost: string, name: string): PolicySummary | undefined {
    const p = this.#host.vhosts.get(vhost)?.policies.get(name)
    return p === undefined ? undefined : policySummary(p)
  }

  putPolicy(vhost: string, name: string, input: { pattern?: unknown; definition?: unknown; priority?: unknown; 'apply-to'?: unknown }): boolean {
    const v = this.#host.vhosts.get(vhost)
    if (v === undefined) throw admin.vhostNotFound(vhost)
    return v.putPolicy(parsePolicy(vhost, name, input))
  }

  deletePolicy(vhost: string, name: string): boolean {
    return this.#host.vhosts.get(vhost)?.deletePolicy(name) ?? false
  }

  exportDefinitions(): Definitions {
    const host = this.#host
    return {
      product_name: 'Warren',
      product_version: PRODUCT_VERSION,
      ...exportAccess(host.users, host.vhosts.values(), this.permissions(), this.topicPermissions()),
      ...exportEntities(host.vhosts.values()),
    }
  }

  importDefinitions(definitions: Definitions): void {
    const host = this.#host
    importDefinitions({ management: this, vhost: (name) => host.vhosts.get(name), directReply: host.directReply }, definitions)
  }

  actor(vhost: string, user: AuthenticatedUser): ManagementActor {
    const v = this.#host.vhosts.get(vhost)
    if (v === undefined) throw admin.vhostNotFound(vhost)
    return new CoreManagementActor(v, user.name, this.#host.permissions, this.#host.directReply)
  }

  #selected(vhost: string | undefined): Iterable<Vhost> {
    if (vhost === undefined) return this.#host.vhosts.values()
    const v = this.#host.vhosts.get(vhost)
    return v === undefined ? [] : [v]
  }

  #findConnection(nameOrId: string): CoreConnection | undefined {
    for (const c of this.#host.connections) if (c.id === nameOrId || connectionName(c) === nameOrId) return c
    return undefined
  }
}

function policySummary(p: Policy): PolicySummary {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: { ...p.definition } }
}
