/**
 * What the core tells the definitions store: every change to vhosts, users, permissions,
 * exchanges, queues and bindings, as it happens (after the change, on the command's own call
 * stack). The store decides what is durable; the core only reports.
 *
 * @module
 */
import type { Table, VhostMetadata } from '../api.ts'
import type { Permission } from '../auth/permissions.ts'
import type { TopicPermission } from '../auth/topic_permissions.ts'
import type { UserRecord } from '../auth/users.ts'
import type { Policy } from '../core/policy.ts'

/** The parts of an exchange the definitions store reads. */
export interface ExchangeFacts {
  readonly name: string
  readonly type: string
  readonly durable: boolean
  readonly autoDelete: boolean
  readonly internal: boolean
  readonly args: Table | undefined
}

/** The parts of a queue the definitions store reads. */
export interface QueueFacts {
  readonly name: string
  readonly durable: boolean
  readonly autoDelete: boolean
  readonly args: Table | undefined
}

/** A binding as the vhost makes it. */
export interface BindingFacts {
  readonly source: { readonly name: string; readonly durable: boolean }
  readonly destination: { readonly name: string; readonly durable: boolean; readonly kind: 'queue' | 'exchange' }
  readonly routingKey: string
  readonly args: Table | undefined
}

export interface DefinitionsObserver {
  /** A vhost was created (or its metadata changed). */
  vhostChanged(name: string, metadata: VhostMetadata): void
  vhostRemoved(name: string): void
  /** `user` undefined: deleted. */
  userChanged(name: string, user: UserRecord | undefined): void
  /** `permission` undefined: deleted. */
  permissionChanged(vhost: string, user: string, permission: Permission | undefined): void
  /** A topic permission for one exchange; `permission` undefined: deleted. */
  topicPermissionChanged?(vhost: string, user: string, exchange: string, permission: TopicPermission | undefined): void
  exchangeAdded(vhost: string, exchange: ExchangeFacts): void
  exchangeRemoved(vhost: string, exchange: ExchangeFacts): void
  queueAdded(vhost: string, queue: QueueFacts): void
  queueRemoved(vhost: string, queue: QueueFacts): void
  /** A binding was added (true) or removed (false). */
  bindingChanged(vhost: string, added: boolean, binding: BindingFacts): void
  /** A policy was created or replaced; `policy` undefined: deleted. Policies are always durable. */
  policyChanged?(vhost: string, name: string, policy: Policy | undefined): void
}

/** The default exchange and amq.*: every vhost has them, so they are never recorded. */
export function isSystemExchange(name: string): boolean {
  return name === '' || name.startsWith('amq.')
}
