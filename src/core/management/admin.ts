/**
 * Users and permissions as the management API shows and changes them, over the broker's
 * UserStore and PermissionStore.
 *
 * @module
 */
import type { BrokerError, PermissionSummary, TopicPermissionSummary, UserSummary, UserUpdate } from '../../api.ts'
import type { PermissionStore } from '../../auth/permissions.ts'
import type { TopicPermissionStore } from '../../auth/topic_permissions.ts'
import { hashPassword, type UserRecord, type UserStore } from '../../auth/users.ts'
import { brokerError } from '../errors.ts'

const SHA256 = 'rabbit_password_hashing_sha256'

export function vhostNotFound(name: string): BrokerError {
  return brokerError('not-found', `vhost '${name}' not found`)
}

export function userSummary(u: UserRecord): UserSummary {
  return { name: u.name, passwordHash: u.passwordHash, hashingAlgorithm: u.hashingAlgorithm, tags: [...u.tags] }
}

/** RabbitMQ accepts tags as a list or as one comma-separated string ("administrator,management"). */
export function normalizeTags(tags: readonly string[] | string): string[] {
  const list = typeof tags === 'string' ? tags.split(',') : tags
  return list.map((t) => t.trim()).filter((t) => t !== '')
}

/** Creates (true) or replaces (false) a user. */
export function putUser(users: UserStore, name: string, update: UserUpdate): boolean {
  const algorithm = update.hashingAlgorithm ?? SHA256
  // Only SHA-256 hashes can be checked here; RabbitMQ's MD5/SHA-512 ones would lock the user out.
  if (algorithm !== SHA256) throw brokerError('invalid-argument', `unsupported hashing algorithm '${algorithm}'`)
  const passwordHash =
    update.password !== undefined ? hashPassword(update.password) : (update.passwordHash ?? '')
  const created = users.get(name) === undefined
  users.put({ name, passwordHash, hashingAlgorithm: SHA256, tags: normalizeTags(update.tags) })
  return created
}

export function deleteUser(users: UserStore, permissions: PermissionStore, name: string): boolean {
  if (!users.delete(name)) return false
  permissions.deleteUser(name)
  return true
}

export function permissionList(permissions: PermissionStore): PermissionSummary[] {
  const out: PermissionSummary[] = []
  for (const p of permissions.list()) out.push({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read })
  return out
}

/** Creates (true) or replaces (false) a permission entry of an existing user in an existing vhost. */
export function setPermission(
  users: UserStore,
  permissions: PermissionStore,
  vhostExists: boolean,
  p: PermissionSummary,
): boolean {
  if (users.get(p.user) === undefined) throw brokerError('not-found', `user '${p.user}' not found`)
  if (!vhostExists) throw vhostNotFound(p.vhost)
  const created = permissions.get(p.vhost, p.user) === undefined
  permissions.set(p.vhost, p.user, { configure: p.configure, write: p.write, read: p.read })
  return created
}

/** Topic permissions, optionally of one vhost and/or one user. */
export function topicPermissionList(topics: TopicPermissionStore, filter: { vhost?: string; user?: string }): TopicPermissionSummary[] {
  const out: TopicPermissionSummary[] = []
  for (const p of topics.list()) {
    if ((filter.vhost === undefined || p.vhost === filter.vhost) && (filter.user === undefined || p.user === filter.user)) {
      out.push({ user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read })
    }
  }
  return out
}

/** Creates (true) or replaces (false) a topic permission of an existing user in an existing vhost. */
export function setTopicPermission(users: UserStore, topics: TopicPermissionStore, vhostExists: boolean, p: TopicPermissionSummary): boolean {
  if (users.get(p.user) === undefined) throw brokerError('not-found', `user '${p.user}' not found`)
  if (!vhostExists) throw vhostNotFound(p.vhost)
  return topics.set(p.vhost, p.user, { exchange: p.exchange, write: p.write, read: p.read })
}
