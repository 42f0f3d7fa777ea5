/**
 * Definitions export and import in RabbitMQ's file format (rabbit_definitions): users, vhosts,
 * permissions, queues, exchanges, bindings. Exclusive queues, the default and amq.* exchanges
 * and the default exchange's implicit bindings are never exported, as in RabbitMQ.
 *
 * @module
 */
import type { Definitions, Management, PermissionSummary, PolicyDefinitionJson, TopicPermissionSummary } from '../../api.ts'
import type { UserStore } from '../../auth/users.ts'
import type { PermissionChecker } from '../access.ts'
import type { Vhost } from '../vhost.ts'
import { CoreManagementActor } from './actor.ts'
import { normalizeTags, vhostNotFound } from './admin.ts'
import type { DirectReply } from '../direct_reply.ts'

type DefinitionsEntities = Pick<Definitions, 'queues' | 'exchanges' | 'bindings'>
type DefinitionsAccess = Pick<
  Definitions,
  'users' | 'vhosts' | 'permissions' | 'topic_permissions' | 'parameters' | 'global_parameters' | 'policies'
>

function isSystemExchange(name: string): boolean {
  return name === '' || name.startsWith('amq.')
}

/** The user policies of the given vhosts, as definitions. */
export function exportPolicies(vhosts: Iterable<Vhost>): PolicyDefinitionJson[] {
  const out: PolicyDefinitionJson[] = []
  for (const v of vhosts) {
    for (const p of v.policies.values()) {
      out.push({ vhost: v.name, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: { ...p.definition }, priority: p.priority })
    }
  }
  return out
}

/** Users, vhosts, permissions, topic permissions and policies; the categories Warren does not have are empty. */
export function exportAccess(
  users: UserStore,
  vhosts: Iterable<Vhost>,
  permissions: PermissionSummary[],
  topicPermissions: TopicPermissionSummary[] = [],
): DefinitionsAccess {
  const list = [...vhosts]
  return {
    users: users.list().map((u) => ({
      name: u.name,
      password_hash: u.passwordHash,
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: {},
    })),
    vhosts: list.map((v) => {
      const m = v.metadata
      const metadata = { description: m.description, tags: [...m.tags], default_queue_type: m.defaultQueueType }
      return { name: v.name, ...metadata, metadata }
    }),
    permissions,
    topic_permissions: topicPermissions,
    parameters: [],
    global_parameters: [],
    policies: exportPolicies(list),
  }
}

/** Queues, exchanges and bindings of the given vhosts, as definitions. */
export function exportEntities(vhosts: Iterable<Vhost>): Required<DefinitionsEntities> {
  const out: Required<DefinitionsEntities> = { queues: [], exchanges: [], bindings: [] }
  for (const v of vhosts) {
    for (const q of v.queues.values()) {
      if (q.owner !== null) continue
      out.queues.push({ name: q.name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: q.args ?? {} })
    }
    for (const x of v.exchanges.values()) {
      if (isSystemExchange(x.name)) continue
      out.exchanges.push({
        name: x.name,
        vhost: v.name,
        type: x.type,
        durable: x.durable,
        auto_delete: x.autoDelete,
        internal: x.internal,
        arguments: x.args ?? {},
      })
    }
    for (const x of v.exchanges.values()) {
      if (x === v.defaultExchange) continue
      for (const b of x.router.bindings()) {
        const d = b.destination
        if (d.kind === 'queue' && d.owner !== null) continue
        out.bindings.push({
          source: x.name,
          vhost: v.name,
          destination: d.name,
          destination_type: d.kind,
          routing_key: b.routingKey,
          arguments: b.args ?? {},
        })
      }
    }
  }
  return out
}

/** Everything importing needs from the broker. */
export interface ImportContext {
  readonly management: Management
  vhost(name: string): Vhost | undefined
  readonly directReply: DirectReply
}

/** Imports act with full permissions, as RabbitMQ's import does. */
const everything: PermissionChecker = { check: () => true, canAccessVhost: () => true }

/**
 * rabbit_definitions:import_parsed/2 order: users, vhosts, permissions, topic permissions, policies, queues,
 * exchanges, bindings (policies first, so entities start under them).
 */
export function importDefinitions(ctx: ImportContext, defs: Definitions): void {
  const m = ctx.management
  for (const u of defs.users ?? []) {
    m.putUser(u.name, { passwordHash: u.password_hash, hashingAlgorithm: u.hashing_algorithm, tags: normalizeTags(u.tags) })
  }
  for (const v of defs.vhosts ?? []) {
    const meta = v.metadata ?? {}
    const tags = v.tags ?? meta.tags
    m.putVhost(v.name, {
      description: v.description ?? meta.description,
      tags: tags === undefined ? undefined : normalizeTags(tags),
      defaultQueueType: v.default_queue_type ?? meta.default_queue_type,
    })
  }
  for (const p of defs.permissions ?? []) m.setPermission(p)
  for (const p of defs.topic_permissions ?? []) {
    m.setTopicPermission({ user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read })
  }
  for (const p of defs.policies ?? []) m.putPolicy(p.vhost, p.name, p)
  const actors = new Map<string, CoreManagementActor>()
  const actor = (vhost: string): CoreManagementActor => {
    let a = actors.get(vhost)
    if (a === undefined) {
      const v = ctx.vhost(vhost)
      if (v === undefined) throw vhostNotFound(vhost)
      a = new CoreManagementActor(v, '', everything, ctx.directReply)
      actors.set(vhost, a)
    }
    return a
  }
  for (const q of defs.queues ?? []) {
    // Through an actor so imports get the same name, argument and equivalence checks.
    actor(q.vhost).declareQueue(q.name, { durable: q.durable, autoDelete: q.auto_delete, args: q.arguments })
  }
  for (const x of defs.exchanges ?? []) {
    if (isSystemExchange(x.name)) continue
    actor(x.vhost).declareExchange(x.name, x.type, {
      durable: x.durable,
      autoDelete: x.auto_delete,
      internal: x.internal,
      args: x.arguments,
    })
  }
  for (const b of defs.bindings ?? []) {
    if (b.source === '') continue
    actor(b.vhost).bind({
      source: b.source,
      destination: b.destination,
      destinationKind: b.destination_type,
      routingKey: b.routing_key,
      args: b.arguments,
    })
  }
}
