/**
 * Resource permission checks for one connection, with RabbitMQ's error text
 * (rabbit_access_control:check_resource_access/4), and topic authorisation
 * (rabbit_channel:check_topic_authorisation/6, rabbit_access_control:check_topic_access/4).
 *
 * @module
 */
import { accessRefused, rs } from './errors.ts'

export type PermissionOp = 'configure' | 'write' | 'read'

/** One user's topic permission for one exchange (src/auth/topic_permissions.ts makes them). */
export interface TopicRule {
  readonly permission: { readonly write: string; readonly read: string }
  /** Compiled once when the pattern has no variables; undefined: expand per connection. */
  readonly write: RegExp | undefined
  readonly read: RegExp | undefined
}

/** One user's topic permissions in one vhost, live (changes show at once). */
export interface TopicRules {
  readonly byExchange: ReadonlyMap<string, TopicRule>
}

/** The permission store as the core uses it (src/auth/permissions.ts implements it). */
export interface PermissionChecker {
  check(vhost: string, user: string, op: PermissionOp, resourceName: string): boolean
  canAccessVhost(vhost: string, user: string): boolean
  /** The user's topic permissions in the vhost; absent: no topic authorisation at all. */
  topicRules?(vhost: string, user: string): TopicRules
}

/** A per-connection expansion of a rule with variables; null: the expansion is no valid regex. */
interface Expanded {
  write?: RegExp | null
  read?: RegExp | null
}

export class Access {
  readonly #perms: PermissionChecker
  readonly #vhost: string
  readonly #user: string
  readonly #topics: TopicRules | undefined
  /** {username}, {vhost} and, for MQTT, {client_id}: RabbitMQ's topic variable map. */
  readonly #variables: Readonly<Record<string, string>>
  /** Keyed by rule: a changed permission is a new rule object, so stale expansions just fall away. */
  #expanded: WeakMap<TopicRule, Expanded> | undefined
  /** The last exchange a publish was allowed to write to: skips the regex on the hot path. */
  #writable: string | undefined

  /** `clientId` is the MQTT client id; other protocols have none, as in RabbitMQ. */
  constructor(perms: PermissionChecker, vhost: string, user: string, clientId?: string) {
    this.#perms = perms
    this.#vhost = vhost
    this.#user = user
    this.#topics = perms.topicRules?.(vhost, user)
    this.#variables = clientId === undefined ? { username: user, vhost } : { username: user, vhost, client_id: clientId }
  }

  /** Throws access-refused ("write access to exchange 'x' in vhost '/' refused for user 'u'"). */
  check(op: PermissionOp, kind: 'queue' | 'exchange', name: string): void {
    if (this.#perms.check(this.#vhost, this.#user, op, name)) return
    const shown = kind === 'exchange' && name === '' ? 'amq.default' : name
    throw accessRefused(`${op} access to ${rs(kind, shown, this.#vhost)} refused for user '${this.#user}'`)
  }

  /** The publish write check, cached for the last exchange. Hot path. */
  checkPublish(exchange: string): void {
    if (exchange === this.#writable) return
    this.check('write', 'exchange', exchange)
    this.#writable = exchange
  }

  /**
   * Topic authorisation: for a topic exchange the user has a topic permission for, `key` (a
   * routing key for 'write', a binding key for 'read') must match the pattern. Throws
   * access-refused ("write access to topic 'a.b' in exchange 'amq.topic' in vhost '/' refused
   * for user 'u'"). Hot path: without topic permissions it costs a size check.
   */
  checkTopic(op: 'write' | 'read', exchange: { readonly name: string; readonly type: string }, key: string): void {
    const topics = this.#topics
    if (topics === undefined || topics.byExchange.size === 0 || exchange.type !== 'topic') return
    const rule = topics.byExchange.get(exchange.name)
    if (rule === undefined) return
    const re = rule[op] ?? this.#expand(rule, op)
    if (re !== null && re.test(key)) return
    throw accessRefused(`${op} access to topic '${key}' in exchange '${exchange.name}' in vhost '${this.#vhost}' refused for user '${this.#user}'`)
  }

  #expand(rule: TopicRule, op: 'write' | 'read'): RegExp | null {
    this.#expanded ??= new WeakMap()
    let e = this.#expanded.get(rule)
    if (e === undefined) {
      e = {}
      this.#expanded.set(rule, e)
    }
    let re = e[op]
    if (re === undefined) {
      let source = rule.permission[op]
      for (const key in this.#variables) source = source.replaceAll(`{${key}}`, this.#variables[key]!)
      try {
        re = new RegExp(source === '' ? '^$' : source)
      } catch {
        // A value that breaks the pattern (e.g. a client id with "(") matches nothing.
        re = null
      }
      e[op] = re
    }
    return re
  }
}
