/**
 * Resource permission checks for one connection, with RabbitMQ's error text
 * (rabbit_access_control:check_resource_access/4).
 *
 * @module
 */
import { accessRefused, rs } from './errors.ts'

export type PermissionOp = 'configure' | 'write' | 'read'

/** The permission store as the core uses it (src/auth/permissions.ts implements it). */
export interface PermissionChecker {
  check(vhost: string, user: string, op: PermissionOp, resourceName: string): boolean
  canAccessVhost(vhost: string, user: string): boolean
}

export class Access {
  readonly #perms: PermissionChecker
  readonly #vhost: string
  readonly #user: string
  /** The last exchange a publish was allowed to write to: skips the regex on the hot path. */
  #writable: string | undefined

  constructor(perms: PermissionChecker, vhost: string, user: string) {
    this.#perms = perms
    this.#vhost = vhost
    this.#user = user
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
}
