/**
 * Topology commands with RabbitMQ's checks, in rabbit_channel.erl's order: permissions, the
 * default exchange and "amq." names, existence, exclusivity, redeclare equivalence, arguments.
 *
 * @module
 */
import type { Binding, DeclareOptions, QueueInfo } from '../api.ts'
import type { Access } from './access.ts'
import type { DirectReply } from './direct_reply.ts'
import { assertArgs, assertField } from './equivalence.ts'
import { accessRefused, defaultExchangeRefused, exclusiveLocked, notFound, preconditionFailed, rs } from './errors.ts'
import type { Destination, Exchange } from './exchange.ts'
import { getExchangeType } from './exchange_type.ts'
import { fieldTypeName } from './exchanges/field_values.ts'
import { generatedName } from './names.ts'
import type { Queue, QueueOwner } from './queue.ts'
import { checkQueueProperties, checkServerNamed, queueArguments, queueConfig, validateQueueArgs } from './queue_args.ts'
import type { Vhost } from './vhost.ts'

/** Who runs a command: a session of a connection. */
export interface Actor {
  readonly vhostState: Vhost
  readonly access: Access
  /** The connection: owner of the exclusive queues it declares. */
  readonly owner: QueueOwner
  readonly directReply: DirectReply
}

/** rabbit_amqqueue:check_exclusive_access/2 (lax): another connection's exclusive queue is locked. */
export function checkExclusive(actor: Actor, q: Queue): void {
  if (q.owner !== null && q.owner !== actor.owner) throw exclusiveLocked(q.name, actor.vhostState.name)
}

/** The queue `name` or not-found, exclusivity checked. */
export function findQueue(actor: Actor, name: string): Queue {
  const q = actor.vhostState.queues.get(name)
  if (q === undefined) throw notFound('queue', name, actor.vhostState.name)
  checkExclusive(actor, q)
  return q
}

/**
 * RabbitMQ's rabbit_exchange:check_type/1 says "invalid exchange type" when the name is an
 * existing Erlang atom without an exchange module, and "unknown exchange type" otherwise. A node's
 * atom table cannot be reproduced; these are the atoms every node has that clients' own suites
 * use as a bad type (amqp-client.js declares type "none" and expects "invalid exchange type"), and
 * the empty atom '' that an empty type names.
 */
const ERLANG_ATOMS = new Set(['', 'none', 'undefined', 'true', 'false', 'ok', 'error', 'infinity', 'null', 'nil', 'all', 'default'])

function unknownTypeWord(type: string): 'invalid' | 'unknown' {
  return ERLANG_ATOMS.has(type) ? 'invalid' : 'unknown'
}

export function declareExchange(
  actor: Actor,
  name: string,
  type: string,
  opts: DeclareOptions & { internal?: boolean } = {},
): void {
  const vhost = actor.vhostState
  if (opts.passive === true) {
    if (name === '') throw defaultExchangeRefused()
    if (!vhost.exchanges.has(name)) throw notFound('exchange', name, vhost.name)
    return
  }
  // RabbitMQ 4.x: a channel-level 406 (3.x closed the connection with 503); amqp-client.js's
  // suite expects the channel's onerror to see it.
  if (getExchangeType(type) === undefined) throw preconditionFailed(`${unknownTypeWord(type)} exchange type '${type}'`)
  if (name === '') throw defaultExchangeRefused()
  actor.access.check('configure', 'exchange', name)
  const durable = opts.durable ?? false
  const autoDelete = opts.autoDelete ?? false
  const internal = opts.internal ?? false
  const existing = vhost.exchanges.get(name)
  if (existing === undefined) {
    if (name.startsWith('amq.')) throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`)
    const ae = opts.args?.['alternate-exchange']
    if (ae !== undefined) {
      if (typeof ae !== 'string') {
        throw preconditionFailed(
          `invalid type '${fieldTypeName(ae)}' for arg 'alternate-exchange' in ${rs('exchange', name, vhost.name)}`,
        )
      }
      actor.access.check('read', 'exchange', name)
      actor.access.check('write', 'exchange', ae)
    }
    vhost.addExchange({ name, type, durable, autoDelete, internal, args: opts.args })
    return
  }
  const entity = { kind: 'exchange', name, vhost: vhost.name } as const
  assertField('type', existing.type, type, entity)
  assertField('durable', existing.durable, durable, entity)
  assertField('auto_delete', existing.autoDelete, autoDelete, entity)
  assertField('internal', existing.internal, internal, entity)
  assertArgs(existing.args, opts.args, ['alternate-exchange'], entity)
}

export function deleteExchange(actor: Actor, name: string, opts: { ifUnused?: boolean } = {}): void {
  const vhost = actor.vhostState
  if (name === '') throw defaultExchangeRefused()
  if (name.startsWith('amq.')) throw accessRefused(`deletion of system ${rs('exchange', name, vhost.name)} not allowed`)
  actor.access.check('configure', 'exchange', name)
  const x = vhost.exchanges.get(name)
  if (x === undefined) return
  if (opts.ifUnused === true && x.router.size > 0) throw preconditionFailed(`${rs('exchange', name, vhost.name)} in use`)
  vhost.removeExchange(x)
}

function info(q: Queue): QueueInfo {
  return { name: q.name, messages: q.store.readyCount, consumers: q.consumers.size }
}

export function declareQueue(actor: Actor, name: string, opts: DeclareOptions & { exclusive?: boolean } = {}): QueueInfo {
  const vhost = actor.vhostState
  // Every declare of the reply pseudo-queue is effectively passive (rabbit_channel).
  if (name.startsWith('amq.rabbitmq.reply-to')) {
    if (actor.directReply.exists(name)) return { name, messages: 0, consumers: 1 }
    throw notFound('queue', name, vhost.name)
  }
  if (opts.passive === true) {
    const q = findQueue(actor, name)
    q.touch()
    return info(q)
  }
  const exclusive = opts.exclusive ?? false
  const durable = (opts.durable ?? false) && !exclusive
  const autoDelete = opts.autoDelete ?? false
  if (name.startsWith('amq.')) throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`)
  if (name === '') checkServerNamed(opts.args)
  const actual = name === '' ? generatedName('amq.gen') : name
  actor.access.check('configure', 'queue', actual)
  const owner = exclusive ? actor.owner : null
  const existing = vhost.queues.get(actual)
  if (existing !== undefined) {
    if (existing.owner !== owner) throw exclusiveLocked(actual, vhost.name)
    const entity = { kind: 'queue', name: actual, vhost: vhost.name } as const
    assertField('durable', existing.durable, durable, entity)
    assertField('auto_delete', existing.autoDelete, autoDelete, entity)
    assertArgs(existing.args, opts.args, queueArguments(existing.config.type), entity)
    existing.touch()
    return info(existing)
  }
  const dlx = opts.args?.['x-dead-letter-exchange']
  if (dlx !== undefined) {
    if (typeof dlx !== 'string') {
      throw preconditionFailed(
        `invalid type '${fieldTypeName(dlx)}' for arg 'x-dead-letter-exchange' in ${rs('queue', actual, vhost.name)}`,
      )
    }
    actor.access.check('read', 'queue', actual)
    actor.access.check('write', 'exchange', dlx)
  }
  validateQueueArgs(opts.args, actual, vhost.name)
  const config = queueConfig(opts.args)
  checkQueueProperties(config.type, { durable, exclusive, autoDelete }, actual, vhost.name)
  const q = vhost.addQueue({ name: actual, durable, autoDelete, owner, args: opts.args, config })
  return info(q)
}

export function deleteQueue(actor: Actor, name: string, opts: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
  const vhost = actor.vhostState
  actor.access.check('configure', 'queue', name)
  const q = vhost.queues.get(name)
  // Deleting a missing queue succeeds with 0, as in RabbitMQ 3.x and later.
  if (q === undefined) return 0
  checkExclusive(actor, q)
  if (opts.ifUnused === true && q.consumers.size > 0) throw preconditionFailed(`${rs('queue', name, vhost.name)} in use`)
  if (opts.ifEmpty === true && q.store.readyCount > 0) throw preconditionFailed(`${rs('queue', name, vhost.name)} not empty`)
  return vhost.removeQueue(q)
}

export function purgeQueue(actor: Actor, name: string): number {
  actor.access.check('read', 'queue', name)
  return findQueue(actor, name).purge()
}

/** rabbit_channel:binding_action_with_checks/10: permissions, the default exchange, topic permissions. */
function checkBindingAction(actor: Actor, b: Binding): void {
  actor.access.check('write', b.destinationKind, b.destination)
  if (b.source === '' || (b.destinationKind === 'exchange' && b.destination === '')) throw defaultExchangeRefused()
  actor.access.check('read', 'exchange', b.source)
  // Topic authorisation on the binding key, when the source exists (RabbitMQ, bind and unbind).
  const source = actor.vhostState.exchanges.get(b.source)
  if (source !== undefined) actor.access.checkTopic('read', source, b.routingKey)
}

/** checkBindingAction, then the lookups rabbit_binding:add does. */
function resolveBinding(actor: Actor, b: Binding): { source: Exchange; destination: Destination } {
  const vhost = actor.vhostState
  checkBindingAction(actor, b)
  const source = vhost.exchanges.get(b.source)
  if (source === undefined) throw notFound('exchange', b.source, vhost.name)
  if (b.destinationKind === 'exchange') {
    const destination = vhost.exchanges.get(b.destination)
    if (destination === undefined) throw notFound('exchange', b.destination, vhost.name)
    return { source, destination }
  }
  const queue = vhost.queues.get(b.destination)
  if (queue === undefined) throw notFound('queue', b.destination, vhost.name)
  checkExclusive(actor, queue)
  return { source, destination: queue }
}

export function bind(actor: Actor, b: Binding): void {
  const { source, destination } = resolveBinding(actor, b)
  getExchangeType(source.type)?.validateBindingArgs?.(b.args)
  actor.vhostState.bind(source, destination, b.routingKey, b.args)
}

/**
 * Unbinding succeeds when the binding, its source or its destination does not exist: RabbitMQ
 * 3.x's rabbit_binding:remove/3 reports only absent (crashed) queues, not missing ones, and checks
 * exclusivity only for a binding it is about to remove.
 */
export function unbind(actor: Actor, b: Binding): void {
  const vhost = actor.vhostState
  checkBindingAction(actor, b)
  const source = vhost.exchanges.get(b.source)
  if (source === undefined) return
  const destination = b.destinationKind === 'exchange' ? vhost.exchanges.get(b.destination) : vhost.queues.get(b.destination)
  if (destination === undefined) return
  if (destination.kind === 'queue' && source.router.hasBindings(destination)) checkExclusive(actor, destination)
  vhost.unbind(source, destination, b.routingKey, b.args)
}
