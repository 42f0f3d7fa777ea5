/**
 * The durable definitions as data: vhosts, users, permissions, and the durable exchanges,
 * queues and bindings of each vhost. The definitions log (definitions_log.ts) is a sequence of
 * `DefinitionRecord`s; replaying them through `apply` in order rebuilds this model, and
 * `snapshot` turns the model back into the shortest sequence that rebuilds it.
 *
 * Deletions cascade as in the broker: a deleted vhost takes everything in it, a deleted queue
 * or exchange its bindings, a deleted user its permissions and topic permissions.
 *
 * @module
 */
import type { Table, VhostMetadata } from '../api.ts'
import type { Permission } from '../auth/permissions.ts'
import type { TopicPermission } from '../auth/topic_permissions.ts'
import type { UserRecord } from '../auth/users.ts'
import type { Policy } from '../core/policy.ts'
import { canonicalTable } from './field_json.ts'

export interface ExchangeDefinition {
  name: string
  type: string
  autoDelete: boolean
  internal: boolean
  args: Table | undefined
}

export interface QueueDefinition {
  name: string
  autoDelete: boolean
  args: Table | undefined
}

/** A user policy as stored (its vhost is the record's). */
export type PolicyDefinition = Omit<Policy, 'vhost'>

export interface BindingDefinition {
  source: string
  destination: string
  destinationKind: 'queue' | 'exchange'
  routingKey: string
  args: Table | undefined
}

/** One change, as written to the log. */
export type DefinitionRecord =
  | { op: 'vhost'; name: string; metadata: VhostMetadata }
  | { op: 'vhost-delete'; name: string }
  | { op: 'user'; user: UserRecord }
  | { op: 'user-delete'; name: string }
  | ({ op: 'permission'; vhost: string; user: string } & Permission)
  | { op: 'permission-delete'; vhost: string; user: string }
  | ({ op: 'topic-permission'; vhost: string; user: string } & TopicPermission)
  | { op: 'topic-permission-delete'; vhost: string; user: string; exchange: string }
  | ({ op: 'exchange'; vhost: string } & ExchangeDefinition)
  | { op: 'exchange-delete'; vhost: string; name: string }
  | ({ op: 'queue'; vhost: string } & QueueDefinition)
  | { op: 'queue-delete'; vhost: string; name: string }
  | ({ op: 'binding'; vhost: string } & BindingDefinition)
  | ({ op: 'binding-delete'; vhost: string } & BindingDefinition)
  | ({ op: 'policy'; vhost: string } & PolicyDefinition)
  | { op: 'policy-delete'; vhost: string; name: string }

export interface VhostDefinitions {
  metadata: VhostMetadata
  permissions: Map<string, Permission>
  /** user → exchange → topic permission. */
  topicPermissions: Map<string, Map<string, TopicPermission>>
  exchanges: Map<string, ExchangeDefinition>
  queues: Map<string, QueueDefinition>
  /** Keyed by `bindingKey`. */
  bindings: Map<string, BindingDefinition>
  /** User policies by name. */
  policies: Map<string, PolicyDefinition>
}

/** A binding's identity: source, destination, key and arguments compared deep, as RabbitMQ does. */
export function bindingKey(b: BindingDefinition): string {
  return `${b.source}\u0000${b.destinationKind}\u0000${b.destination}\u0000${b.routingKey}\u0000${canonicalTable(b.args)}`
}

export class DefinitionsModel {
  readonly vhosts = new Map<string, VhostDefinitions>()
  readonly users = new Map<string, UserRecord>()

  /** True until the first record is applied: a brand-new data directory. */
  get empty(): boolean {
    return this.vhosts.size === 0 && this.users.size === 0
  }

  /** Applies one change. Records naming a missing vhost are ignored (it was deleted after). */
  apply(r: DefinitionRecord): void {
    switch (r.op) {
      case 'vhost': {
        const v = this.vhosts.get(r.name)
        if (v !== undefined) v.metadata = r.metadata
        else {
          this.vhosts.set(r.name, {
            metadata: r.metadata,
            permissions: new Map(),
            topicPermissions: new Map(),
            exchanges: new Map(),
            queues: new Map(),
            bindings: new Map(),
            policies: new Map(),
          })
        }
        return
      }
      case 'vhost-delete':
        this.vhosts.delete(r.name)
        return
      case 'user':
        this.users.set(r.user.name, r.user)
        return
      case 'user-delete':
        this.users.delete(r.name)
        for (const v of this.vhosts.values()) {
          v.permissions.delete(r.name)
          v.topicPermissions.delete(r.name)
        }
        return
    }
    const v = this.vhosts.get(r.vhost)
    if (v === undefined) return
    switch (r.op) {
      case 'permission':
        v.permissions.set(r.user, { configure: r.configure, write: r.write, read: r.read })
        return
      case 'permission-delete':
        v.permissions.delete(r.user)
        return
      case 'topic-permission': {
        let byExchange = v.topicPermissions.get(r.user)
        if (byExchange === undefined) {
          byExchange = new Map()
          v.topicPermissions.set(r.user, byExchange)
        }
        byExchange.set(r.exchange, { exchange: r.exchange, write: r.write, read: r.read })
        return
      }
      case 'topic-permission-delete': {
        const byExchange = v.topicPermissions.get(r.user)
        byExchange?.delete(r.exchange)
        if (byExchange?.size === 0) v.topicPermissions.delete(r.user)
        return
      }
      case 'exchange':
        v.exchanges.set(r.name, { name: r.name, type: r.type, autoDelete: r.autoDelete, internal: r.internal, args: r.args })
        return
      case 'exchange-delete':
        v.exchanges.delete(r.name)
        dropBindings(v, (b) => b.source === r.name || (b.destinationKind === 'exchange' && b.destination === r.name))
        return
      case 'queue':
        v.queues.set(r.name, { name: r.name, autoDelete: r.autoDelete, args: r.args })
        return
      case 'queue-delete':
        v.queues.delete(r.name)
        dropBindings(v, (b) => b.destinationKind === 'queue' && b.destination === r.name)
        return
      case 'binding': {
        const b = binding(r)
        v.bindings.set(bindingKey(b), b)
        return
      }
      case 'binding-delete':
        v.bindings.delete(bindingKey(binding(r)))
        return
      case 'policy':
        v.policies.set(r.name, { name: r.name, pattern: r.pattern, applyTo: r.applyTo, priority: r.priority, definition: r.definition })
        return
      case 'policy-delete':
        v.policies.delete(r.name)
        return
    }
  }

  /** The records that rebuild this model, in an order replay accepts. */
  *snapshot(): Generator<DefinitionRecord> {
    for (const [name, v] of this.vhosts) yield { op: 'vhost', name, metadata: v.metadata }
    for (const user of this.users.values()) yield { op: 'user', user }
    for (const [vhost, v] of this.vhosts) {
      for (const [user, p] of v.permissions) yield { op: 'permission', vhost, user, ...p }
      for (const [user, byExchange] of v.topicPermissions) {
        for (const p of byExchange.values()) yield { op: 'topic-permission', vhost, user, ...p }
      }
      for (const x of v.exchanges.values()) yield { op: 'exchange', vhost, ...x }
      for (const q of v.queues.values()) yield { op: 'queue', vhost, ...q }
      for (const b of v.bindings.values()) yield { op: 'binding', vhost, ...b }
      for (const p of v.policies.values()) yield { op: 'policy', vhost, ...p }
    }
  }

  /** Every durable queue, for the message store's orphan sweep. */
  *queues(): Generator<{ vhost: string; name: string }> {
    for (const [vhost, v] of this.vhosts) for (const name of v.queues.keys()) yield { vhost, name }
  }
}

function binding(r: BindingDefinition): BindingDefinition {
  return { source: r.source, destination: r.destination, destinationKind: r.destinationKind, routingKey: r.routingKey, args: r.args }
}

function dropBindings(v: VhostDefinitions, match: (b: BindingDefinition) => boolean): void {
  for (const [key, b] of v.bindings) if (match(b)) v.bindings.delete(key)
}
