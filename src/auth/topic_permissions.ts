/**
 * Topic permissions, with RabbitMQ's semantics (rabbit_auth_backend_internal): per user, vhost
 * and exchange, a `write` and a `read` regular expression searched, unanchored, in the routing
 * (or binding) key; "" means "^$". A user with no entry for an exchange is not restricted.
 * Before matching, "{username}", "{vhost}" and (MQTT) "{client_id}" in a pattern are replaced by
 * the connection's values, without escaping, as RabbitMQ's expand_topic_permission does.
 *
 * Each (vhost, user) has one live `TopicScope` that connections hold for their whole life, so a
 * change is seen at once and a connection of a user without topic permissions pays one size check.
 *
 * @module
 */
import { BrokerError } from '../api.ts'

/** One entry, as RabbitMQ stores it. */
export interface TopicPermission {
  exchange: string
  write: string
  read: string
}

/** An entry with its regexes compiled once; a new object on every change (caches key on it). */
export interface TopicEntry {
  readonly permission: TopicPermission
  /** Undefined when the pattern has variables: each connection expands and compiles it. */
  readonly write: RegExp | undefined
  readonly read: RegExp | undefined
}

/** One user's topic permissions in one vhost, by exchange name. Live: changes show at once. */
export interface TopicScope {
  readonly byExchange: ReadonlyMap<string, TopicEntry>
}

const VARIABLE = /\{(?:username|vhost|client_id)\}/

/** "" means "^$" (RabbitMQ). Throws BrokerError('invalid-argument') for a bad regex. */
export function compileTopicPattern(op: 'write' | 'read', source: string): RegExp {
  try {
    return new RegExp(source === '' ? '^$' : source)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new BrokerError('invalid-argument', `Invalid ${op} topic permission regular expression '${source}': ${reason}`)
  }
}

function entryOf(p: TopicPermission): TopicEntry {
  // Compiled as given even with variables, so a bad pattern is refused when it is set.
  const write = compileTopicPattern('write', p.write)
  const read = compileTopicPattern('read', p.read)
  return {
    permission: { exchange: p.exchange, write: p.write, read: p.read },
    write: VARIABLE.test(p.write) ? undefined : write,
    read: VARIABLE.test(p.read) ? undefined : read,
  }
}

class Scope implements TopicScope {
  readonly byExchange = new Map<string, TopicEntry>()
}

export interface TopicPermissionStoreOptions {
  /** Called after each set and delete (undefined: deleted), e.g. to persist definitions. */
  onChange?: (vhost: string, user: string, exchange: string, permission: TopicPermission | undefined) => void
}

export class TopicPermissionStore {
  /** vhost → user → scope. Scopes stay once made (a connection may hold one); bounded by users × vhosts. */
  #byVhost = new Map<string, Map<string, Scope>>()
  #onChange: TopicPermissionStoreOptions['onChange']

  constructor(options: TopicPermissionStoreOptions = {}) {
    this.#onChange = options.onChange
  }

  /** The live scope of `user` in `vhost` (created empty). */
  scope(vhost: string, user: string): TopicScope {
    return this.#scope(vhost, user)
  }

  /** Creates (true) or replaces (false) the entry for `p.exchange`. Throws invalid-argument for a bad regex. */
  set(vhost: string, user: string, p: TopicPermission): boolean {
    const entry = entryOf(p)
    const scope = this.#scope(vhost, user)
    const created = !scope.byExchange.has(p.exchange)
    scope.byExchange.set(p.exchange, entry)
    this.#onChange?.(vhost, user, p.exchange, { ...entry.permission })
    return created
  }

  /** The user's entries in the vhost (empty when none). */
  get(vhost: string, user: string): TopicPermission[] {
    const scope = this.#byVhost.get(vhost)?.get(user)
    if (scope === undefined) return []
    return [...scope.byExchange.values()].map((e) => ({ ...e.permission }))
  }

  /** Deletes one exchange's entry, or (no exchange) all of the user's in the vhost. False if none. */
  delete(vhost: string, user: string, exchange?: string): boolean {
    const scope = this.#byVhost.get(vhost)?.get(user)
    if (scope === undefined) return false
    const names = exchange === undefined ? [...scope.byExchange.keys()] : scope.byExchange.has(exchange) ? [exchange] : []
    for (const name of names) {
      scope.byExchange.delete(name)
      this.#onChange?.(vhost, user, name, undefined)
    }
    return names.length > 0
  }

  /** Drops every entry in a vhost (vhost deleted; not reported: the vhost's deletion says it all). */
  deleteVhost(vhost: string): void {
    const users = this.#byVhost.get(vhost)
    if (users === undefined) return
    for (const scope of users.values()) scope.byExchange.clear()
  }

  /** Drops a user's entries everywhere (user deleted). */
  deleteUser(user: string): void {
    for (const vhost of this.#byVhost.keys()) this.delete(vhost, user)
  }

  /** Every entry, for listing and definitions export. */
  *list(): Generator<{ vhost: string; user: string } & TopicPermission> {
    for (const [vhost, users] of this.#byVhost) {
      for (const [user, scope] of users) for (const e of scope.byExchange.values()) yield { vhost, user, ...e.permission }
    }
  }

  #scope(vhost: string, user: string): Scope {
    let users = this.#byVhost.get(vhost)
    if (users === undefined) {
      users = new Map()
      this.#byVhost.set(vhost, users)
    }
    let scope = users.get(user)
    if (scope === undefined) {
      scope = new Scope()
      users.set(user, scope)
    }
    return scope
  }
}
