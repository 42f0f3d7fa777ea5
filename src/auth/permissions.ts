/**
 * Per-vhost configure/write/read permissions, with RabbitMQ's semantics
 * (rabbit_auth_backend_internal): each is a regular expression searched, unanchored, in the
 * resource name; "" means "^$"; a user with no entry for a vhost cannot use it at all.
 *
 * @module
 */
import { BrokerError } from '../api.ts'
import { type TopicPermission, type TopicScope, TopicPermissionStore } from './topic_permissions.ts'

/** Regular expressions, as RabbitMQ stores them. */
export interface Permission {
  configure: string
  write: string
  read: string
}

export type PermissionOp = 'configure' | 'write' | 'read'

interface Entry {
  readonly permission: Permission
  readonly configure: RegExp
  readonly write: RegExp
  readonly read: RegExp
}

function compile(op: PermissionOp, source: string): RegExp {
  try {
    return new RegExp(source === '' ? '^$' : source)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new BrokerError('invalid-argument', `Invalid ${op} permission regular expression '${source}': ${reason}`)
  }
}

export interface PermissionStoreOptions {
  /**
   * Called after `set` and `delete` (undefined permission: deleted), e.g. to persist definitions.
   * Not called by `deleteVhost`: the vhost's deletion says it all.
   */
  onChange?: (vhost: string, user: string, permission: Permission | undefined) => void
  /** The same for topic permissions (per exchange). */
  onTopicChange?: (vhost: string, user: string, exchange: string, permission: TopicPermission | undefined) => void
}

export class PermissionStore {
  /** vhost → user → entry with its regexes compiled once. */
  #byVhost = new Map<string, Map<string, Entry>>()
  #onChange: PermissionStoreOptions['onChange']
  /** Topic permissions; they go with the vhost or user as the other permissions do. */
  readonly topics: TopicPermissionStore

  constructor(options: PermissionStoreOptions = {}) {
    this.#onChange = options.onChange
    this.topics = new TopicPermissionStore({ onChange: options.onTopicChange })
  }

  /** Sets a user's permissions in a vhost. Throws BrokerError('invalid-argument') for a bad regex. */
  set(vhost: string, user: string, p: Permission): void {
    const entry: Entry = {
      permission: { configure: p.configure, write: p.write, read: p.read },
      configure: compile('configure', p.configure),
      write: compile('write', p.write),
      read: compile('read', p.read),
    }
    let users = this.#byVhost.get(vhost)
    if (users === undefined) {
      users = new Map()
      this.#byVhost.set(vhost, users)
    }
    users.set(user, entry)
    this.#onChange?.(vhost, user, { ...entry.permission })
  }

  get(vhost: string, user: string): Permission | undefined {
    const p = this.#byVhost.get(vhost)?.get(user)?.permission
    return p === undefined ? undefined : { ...p }
  }

  delete(vhost: string, user: string): boolean {
    const users = this.#byVhost.get(vhost)
    if (users === undefined || !users.delete(user)) return false
    if (users.size === 0) this.#byVhost.delete(vhost)
    this.#onChange?.(vhost, user, undefined)
    return true
  }

  /** Drops every permission in a vhost (vhost deleted). */
  deleteVhost(vhost: string): void {
    this.#byVhost.delete(vhost)
    this.topics.deleteVhost(vhost)
  }

  /** Drops a user's permissions everywhere (user deleted). */
  deleteUser(user: string): void {
    for (const vhost of [...this.#byVhost.keys()]) this.delete(vhost, user)
    this.topics.deleteUser(user)
  }

  /** The user's live topic permissions in the vhost (core/access.ts's PermissionChecker). */
  topicRules(vhost: string, user: string): TopicScope {
    return this.topics.scope(vhost, user)
  }

  /** Any permission entry at all grants access to the vhost, as in RabbitMQ. */
  canAccessVhost(vhost: string, user: string): boolean {
    return this.#byVhost.get(vhost)?.has(user) ?? false
  }

  /**
   * Whether `user` may do `op` on the exchange or queue `resourceName` in `vhost`. The default
   * exchange ("") is checked under the name "amq.default", as RabbitMQ does.
   */
  check(vhost: string, user: string, op: PermissionOp, resourceName: string): boolean {
    const entry = this.#byVhost.get(vhost)?.get(user)
    if (entry === undefined) return false
    return entry[op].test(resourceName === '' ? 'amq.default' : resourceName)
  }

  /** Every entry, for listing and definitions export. */
  *list(): Generator<{ vhost: string; user: string } & Permission> {
    for (const [vhost, users] of this.#byVhost) {
      for (const [user, entry] of users) yield { vhost, user, ...entry.permission }
    }
  }
}
