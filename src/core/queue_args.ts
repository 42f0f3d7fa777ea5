/**
 * Queue declare and consume arguments: validation with RabbitMQ's texts
 * (rabbit_amqqueue:check_declare_arguments/2, check_consume_arguments/3), the checks a quorum
 * queue adds (rabbit_quorum_queue:declare/2) and the parsed settings a queue runs with.
 *
 * Two queue types exist here. A quorum queue is a classic queue with quorum semantics: always
 * durable, every message kept across restarts, x-delivery-limit, x-delivery-count on
 * redeliveries, its own argument set. There is one node, so replication arguments
 * (x-quorum-initial-group-size …) are validated and otherwise ignored. Streams are refused.
 *
 * @module
 */
import type { FieldValue, Table } from '../api.ts'
import { log } from '../log.ts'
import { preconditionFailed, rs } from './errors.ts'
import { fieldTypeName } from './exchanges/field_values.ts'

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx'

/** The queue types Warren runs (x-queue-type; absent means classic). */
export type QueueType = 'classic' | 'quorum'

/** What a queue does with its arguments. -1 / 0 / undefined mean "not set". */
export interface QueueConfig {
  readonly type: QueueType
  /** x-message-ttl in ms, -1 when unset. */
  readonly messageTtl: number
  /** x-expires in ms, 0 when unset. */
  readonly expires: number
  /** x-max-length, -1 when unset. */
  readonly maxLength: number
  /** x-max-length-bytes, -1 when unset. */
  readonly maxLengthBytes: number
  readonly overflow: Overflow
  /** Whether x-overflow was given (a policy's overflow applies only when it was not). */
  readonly overflowSet?: boolean
  readonly deadLetterExchange: string | undefined
  readonly deadLetterRoutingKey: string | undefined
  /** x-max-priority, 0 when unset (no priorities). */
  readonly maxPriority: number
  readonly singleActiveConsumer: boolean
  /**
   * x-delivery-limit of a quorum queue, undefined when unset: a message returned to the queue
   * more often than this is dead-lettered ('delivery_limit') or dropped. Compared as RabbitMQ
   * 3.13's rabbit_fifo does (count > limit), so 0 allows no return and a negative limit none.
   */
  readonly deliveryLimit: number | undefined
}

/** Whether `count` ready messages of `bytes` body bytes exceed x-max-length / x-max-length-bytes. */
export function overLimit(cfg: QueueConfig, count: number, bytes: number): boolean {
  return (cfg.maxLength >= 0 && count > cfg.maxLength) || (cfg.maxLengthBytes >= 0 && bytes > cfg.maxLengthBytes)
}

/** The priority level of a message in a queue with x-max-priority: above the max counts as the max. */
export function priorityLevel(cfg: QueueConfig, priority: number | undefined): number {
  if (priority === undefined || priority <= 0) return 0
  return priority > cfg.maxPriority ? cfg.maxPriority : priority
}

/** The arguments a classic queue takes part in equivalence checks with (rabbit_classic_queue). */
export const classicQueueArguments: readonly string[] = [
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-queue-version',
  'x-single-active-consumer',
  'x-queue-type',
  'x-queue-master-locator',
  'x-queue-leader-locator',
]

/** The arguments of a quorum queue (rabbit_quorum_queue:capabilities/0, 3.13). */
export const quorumQueueArguments: readonly string[] = [
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-dead-letter-strategy',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-overflow',
  'x-single-active-consumer',
  'x-queue-type',
  'x-quorum-initial-group-size',
  'x-delivery-limit',
  'x-message-ttl',
  'x-queue-leader-locator',
]

/** The arguments a queue of `type` takes part in validation and equivalence checks with. */
export function queueArguments(type: QueueType): readonly string[] {
  return type === 'quorum' ? quorumQueueArguments : classicQueueArguments
}

/** The queue type module RabbitMQ names in its texts. */
function typeModule(type: QueueType): string {
  return type === 'quorum' ? 'rabbit_quorum_queue' : 'rabbit_classic_queue'
}

/** Arguments of classic queues and streams; a quorum queue refuses them by name. */
const notQuorumArguments = [
  'x-max-priority',
  'x-queue-mode',
  'x-queue-version',
  'x-queue-master-locator',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-stream-filter-size-bytes',
  'x-initial-cluster-size',
]

/** Arguments other queue types own; a classic queue refuses them by name. */
const otherTypesArguments = [
  'x-dead-letter-strategy',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-delivery-limit',
  'x-quorum-initial-group-size',
  'x-quorum-target-group-size',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-stream-filter-size-bytes',
  'x-initial-cluster-size',
]

/** rabbit_queue_location:queue_leader_locators/0 (3.13: two current, two deprecated). */
const LEADER_LOCATORS = ['client-local', 'balanced', 'random', 'least-leaders']

const MAX_EXPIRY = 4294967295
const MAX_PRIORITY = 255
const integerTypes = new Set(['byte', 'short', 'signedint', 'long', 'unsignedbyte', 'unsignedshort', 'unsignedint'])

/** A validator returns the Erlang term RabbitMQ prints after the colon, or undefined when fine. */
type Check = (value: FieldValue, args: Table) => string | undefined

/** The numeric value of an integer-typed field (TypedNumber unwrapped), or undefined. */
export function integerValue(v: FieldValue): number | undefined {
  if (!integerTypes.has(fieldTypeName(v))) return undefined
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  return Number((v as { value: number | bigint }).value)
}

const checkInt: Check = (v) => (integerValue(v) === undefined ? `"expected integer, got ${fieldTypeName(v)}"` : undefined)

const checkNonNegInt: Check = (v, args) => {
  const bad = checkInt(v, args)
  if (bad !== undefined) return bad
  const n = integerValue(v)!
  return n < 0 ? `{value_negative,${n}}` : undefined
}

/** rabbit_misc:check_expiry/1. */
function checkExpiry(n: number): string | undefined {
  if (n < 0) return `{value_negative,${n}}`
  if (n > MAX_EXPIRY) return `{value_too_large,${n}}`
  return undefined
}

const checkBool: Check = (v) => (typeof v === 'boolean' ? undefined : `{unacceptable_type,${fieldTypeName(v)}}`)

function checkOneOf(allowed: readonly string[], invalid: string): Check {
  return (v) => {
    if (typeof v !== 'string') return `{unacceptable_type,${fieldTypeName(v)}}`
    return allowed.includes(v) ? undefined : invalid
  }
}

/** In rabbit_amqqueue:declare_args/0 order; each queue type runs those of its own arguments. */
const declareChecks: [string, Check][] = [
  ['x-expires', (v, a) => checkInt(v, a) ?? (integerValue(v) === 0 ? '{value_zero,0}' : checkExpiry(integerValue(v)!))],
  ['x-message-ttl', (v, a) => checkInt(v, a) ?? checkExpiry(integerValue(v)!)],
  ['x-dead-letter-exchange', (v) => (typeof v === 'string' ? undefined : `{unacceptable_type,${fieldTypeName(v)}}`)],
  [
    'x-dead-letter-routing-key',
    (v, a) => {
      if (typeof v !== 'string') return `{unacceptable_type,${fieldTypeName(v)}}`
      return a['x-dead-letter-exchange'] === undefined ? 'routing_key_but_no_dlx_defined' : undefined
    },
  ],
  ['x-dead-letter-strategy', checkOneOf(['at-most-once', 'at-least-once'], 'invalid_dlx_strategy')],
  ['x-max-length', checkNonNegInt],
  ['x-max-length-bytes', checkNonNegInt],
  ['x-max-in-memory-length', checkNonNegInt],
  ['x-max-in-memory-bytes', checkNonNegInt],
  [
    'x-max-priority',
    (v, a) => checkNonNegInt(v, a) ?? (integerValue(v)! > MAX_PRIORITY ? `{max_value_exceeded,${integerValue(v)}}` : undefined),
  ],
  ['x-overflow', checkOneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], 'invalid_overflow')],
  [
    'x-queue-mode',
    (v) => {
      if (typeof v !== 'string') return `{unacceptable_type,${fieldTypeName(v)}}`
      return v === 'default' || v === 'lazy' ? undefined : `"unsupported queue mode '${v}'"`
    },
  ],
  [
    'x-queue-version',
    (v, a) => {
      const bad = checkNonNegInt(v, a)
      if (bad !== undefined) return bad
      const n = integerValue(v)!
      return n === 1 || n === 2 ? undefined : `"unsupported queue version '${n}'"`
    },
  ],
  ['x-single-active-consumer', checkBool],
  ['x-quorum-initial-group-size', (v, a) => checkNonNegInt(v, a) ?? (integerValue(v) === 0 ? '{value_zero,0}' : undefined)],
  ['x-queue-leader-locator', checkOneOf(LEADER_LOCATORS, 'invalid_queue_locator_arg')],
]

function invalidArg(key: string, queue: string, vhost: string, term: string): never {
  throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)}: ${term}`)
}

/** The type x-queue-type names (validated or not): quorum, else classic. */
export function queueType(args: Table | undefined): QueueType {
  return args?.['x-queue-type'] === 'quorum' ? 'quorum' : 'classic'
}

/** Throws precondition-failed with RabbitMQ's text for the first bad declare argument. */
export function validateQueueArgs(args: Table | undefined, queue: string, vhost: string): void {
  if (args === undefined) return
  const type = args['x-queue-type']
  if (type !== undefined) {
    if (typeof type !== 'string') invalidArg('x-queue-type', queue, vhost, `{unacceptable_type,${fieldTypeName(type)}}`)
    // RabbitMQ knows streams; Warren does not implement them, and says so.
    if (type === 'stream') {
      invalidArg('x-queue-type', queue, vhost, `"unsupported queue type 'stream': streams are not supported by Warren"`)
    }
    if (type !== 'classic' && type !== 'quorum') invalidArg('x-queue-type', queue, vhost, `"unsupported queue type '${type}'"`)
  }
  const qtype = queueType(args)
  const own = queueArguments(qtype)
  for (const [key, check] of declareChecks) {
    const value = args[key]
    if (value === undefined || !own.includes(key)) continue
    // Classic queues have taken any leader locator here so far (3.13 has none for them).
    if (qtype === 'classic' && key === 'x-queue-leader-locator') continue
    const bad = check(value, args)
    if (bad !== undefined) invalidArg(key, queue, vhost, bad)
  }
  // rabbit_amqqueue:check_arguments_key/4 walks the declared table in its order.
  const refused = qtype === 'quorum' ? notQuorumArguments : otherTypesArguments
  for (const key of Object.keys(args)) {
    if (args[key] !== undefined && refused.includes(key)) {
      throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)} of queue type ${typeModule(qtype)}`)
    }
  }
  if (qtype === 'quorum' && args['x-overflow'] === 'reject-publish-dlx') {
    // rabbit_quorum_queue:overflow/3 accepts the declare, warns and falls back to drop-head.
    log.warn('Invalid overflow strategy "reject-publish-dlx" for quorum queue, using drop-head', { vhost, queue })
  }
}

/**
 * The declare properties a queue type refuses: a quorum queue must be durable, not exclusive
 * and not auto-delete (rabbit_quorum_queue:declare/2, rabbit_queue_type_util's checks in
 * that order). Runs after `validateQueueArgs`, as RabbitMQ checks arguments first.
 */
export function checkQueueProperties(
  type: QueueType,
  props: { durable: boolean; exclusive: boolean; autoDelete: boolean },
  queue: string,
  vhost: string,
): void {
  if (type !== 'quorum') return
  const invalid = (property: string): never => {
    throw preconditionFailed(`invalid property '${property}' for ${rs('queue', queue, vhost)}`)
  }
  if (props.autoDelete) invalid('auto-delete')
  if (props.exclusive) invalid('exclusive-owner')
  if (!props.durable) invalid('non-durable')
}

/** rabbit_channel: a queue type without server-named queues refuses the empty name. */
export function checkServerNamed(args: Table | undefined): void {
  const type = queueType(args)
  if (type === 'quorum') throw preconditionFailed(`Cannot declare a server-named queue for type ${typeModule(type)}`)
}

/**
 * x-delivery-limit has no declare validator in RabbitMQ: a number limits, anything else
 * compares as larger than every count in Erlang's term order, that is no limit.
 */
function deliveryLimit(v: FieldValue | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = integerValue(v)
  if (n !== undefined) return n
  if (typeof v === 'number') return v
  const typed = v as { kind?: unknown; type?: unknown; value?: unknown }
  if (typed !== null && typeof typed === 'object' && typed.kind === 'typed-number') return Number(typed.value)
  return undefined
}

/** Settings from already validated arguments. */
export function queueConfig(args: Table | undefined): QueueConfig {
  const int = (key: string, unset: number): number => {
    const v = args?.[key]
    return v === undefined ? unset : integerValue(v)!
  }
  const dlx = args?.['x-dead-letter-exchange']
  const dlrk = args?.['x-dead-letter-routing-key']
  const type = queueType(args)
  let overflow = (args?.['x-overflow'] as Overflow | undefined) ?? 'drop-head'
  // A quorum queue has no reject-publish-dlx (rabbit_quorum_queue:overflow/3): drop-head.
  if (type === 'quorum' && overflow === 'reject-publish-dlx') overflow = 'drop-head'
  return {
    type,
    messageTtl: int('x-message-ttl', -1),
    expires: int('x-expires', 0),
    maxLength: int('x-max-length', -1),
    maxLengthBytes: int('x-max-length-bytes', -1),
    overflow,
    overflowSet: args?.['x-overflow'] !== undefined,
    deadLetterExchange: typeof dlx === 'string' ? dlx : undefined,
    deadLetterRoutingKey: typeof dlrk === 'string' ? dlrk : undefined,
    maxPriority: int('x-max-priority', 0),
    singleActiveConsumer: args?.['x-single-active-consumer'] === true,
    deliveryLimit: type === 'quorum' ? deliveryLimit(args?.['x-delivery-limit']) : undefined,
  }
}

/** Parsed consume arguments (x-priority). */
export interface ConsumeArgs {
  readonly priority: number
}

/**
 * rabbit_amqqueue:check_consume_arguments/3. A classic queue takes x-priority and
 * x-cancel-on-ha-failover, a quorum queue x-priority and x-credit (3.13's consumer_arguments).
 */
export function consumeArgs(args: Table | undefined, queue: string, vhost: string, type: QueueType = 'classic'): ConsumeArgs {
  if (args === undefined) return { priority: 0 }
  const priority = args['x-priority']
  if (priority !== undefined) {
    const bad = checkInt(priority, args)
    if (bad !== undefined) invalidArg('x-priority', queue, vhost, bad)
  }
  const failover = args['x-cancel-on-ha-failover']
  if (failover !== undefined && type === 'classic') {
    const bad = checkBool(failover, args)
    if (bad !== undefined) invalidArg('x-cancel-on-ha-failover', queue, vhost, bad)
  }
  const refused = type === 'quorum'
    ? ['x-cancel-on-ha-failover', 'x-stream-offset', 'x-stream-filter', 'x-stream-match-unfiltered']
    : ['x-stream-offset', 'x-stream-filter', 'x-stream-match-unfiltered', 'x-credit']
  for (const key of Object.keys(args)) {
    if (args[key] !== undefined && refused.includes(key)) {
      throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)} of queue type ${typeModule(type)}`)
    }
  }
  return { priority: priority === undefined ? 0 : integerValue(priority)! }
}
