/**
 * Queue declare and consume arguments: validation with RabbitMQ's texts
 * (rabbit_amqqueue:check_declare_arguments/2, check_consume_arguments/3) and the parsed
 * settings a classic queue runs with.
 *
 * @module
 */
import type { FieldValue, Table } from '../api.ts'
import { preconditionFailed, rs } from './errors.ts'
import { fieldTypeName } from './exchanges/field_values.ts'

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx'

/** What a classic queue does with its arguments. -1 / 0 / undefined mean "not set". */
export interface QueueConfig {
  /** x-message-ttl in ms, -1 when unset. */
  readonly messageTtl: number
  /** x-expires in ms, 0 when unset. */
  readonly expires: number
  /** x-max-length, -1 when unset. */
  readonly maxLength: number
  /** x-max-length-bytes, -1 when unset. */
  readonly maxLengthBytes: number
  readonly overflow: Overflow
  readonly deadLetterExchange: string | undefined
  readonly deadLetterRoutingKey: string | undefined
  /** x-max-priority, 0 when unset (no priorities). */
  readonly maxPriority: number
  readonly singleActiveConsumer: boolean
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

/** In rabbit_amqqueue:declare_args/0 order, filtered to the classic queue's arguments. */
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
  ['x-max-length', checkNonNegInt],
  ['x-max-length-bytes', checkNonNegInt],
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
]

function invalidArg(key: string, queue: string, vhost: string, term: string): never {
  throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)}: ${term}`)
}

/** Throws precondition-failed with RabbitMQ's text for the first bad declare argument. */
export function validateQueueArgs(args: Table | undefined, queue: string, vhost: string): void {
  if (args === undefined) return
  const type = args['x-queue-type']
  if (type !== undefined) {
    if (typeof type !== 'string') invalidArg('x-queue-type', queue, vhost, `{unacceptable_type,${fieldTypeName(type)}}`)
    // Only classic queues exist here; quorum queues and streams are not implemented.
    if (type !== 'classic') invalidArg('x-queue-type', queue, vhost, `"unsupported queue type '${type}'"`)
  }
  for (const [key, check] of declareChecks) {
    const value = args[key]
    if (value === undefined) continue
    const bad = check(value, args)
    if (bad !== undefined) invalidArg(key, queue, vhost, bad)
  }
  for (const key of otherTypesArguments) {
    if (args[key] !== undefined) {
      throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)} of queue type rabbit_classic_queue`)
    }
  }
}

/** Settings from already validated arguments. */
export function queueConfig(args: Table | undefined): QueueConfig {
  const int = (key: string, unset: number): number => {
    const v = args?.[key]
    return v === undefined ? unset : integerValue(v)!
  }
  const dlx = args?.['x-dead-letter-exchange']
  const dlrk = args?.['x-dead-letter-routing-key']
  return {
    messageTtl: int('x-message-ttl', -1),
    expires: int('x-expires', 0),
    maxLength: int('x-max-length', -1),
    maxLengthBytes: int('x-max-length-bytes', -1),
    overflow: (args?.['x-overflow'] as Overflow | undefined) ?? 'drop-head',
    deadLetterExchange: typeof dlx === 'string' ? dlx : undefined,
    deadLetterRoutingKey: typeof dlrk === 'string' ? dlrk : undefined,
    maxPriority: int('x-max-priority', 0),
    singleActiveConsumer: args?.['x-single-active-consumer'] === true,
  }
}

/** Parsed consume arguments (x-priority). */
export interface ConsumeArgs {
  readonly priority: number
}

/** rabbit_amqqueue:check_consume_arguments/3 for a classic queue. */
export function consumeArgs(args: Table | undefined, queue: string, vhost: string): ConsumeArgs {
  if (args === undefined) return { priority: 0 }
  const priority = args['x-priority']
  if (priority !== undefined) {
    const bad = checkInt(priority, args)
    if (bad !== undefined) invalidArg('x-priority', queue, vhost, bad)
  }
  const failover = args['x-cancel-on-ha-failover']
  if (failover !== undefined) {
    const bad = checkBool(failover, args)
    if (bad !== undefined) invalidArg('x-cancel-on-ha-failover', queue, vhost, bad)
  }
  for (const key of ['x-stream-offset', 'x-stream-filter', 'x-stream-match-unfiltered', 'x-credit']) {
    if (args[key] !== undefined) {
      throw preconditionFailed(`invalid arg '${key}' for ${rs('queue', queue, vhost)} of queue type rabbit_classic_queue`)
    }
  }
  return { priority: priority === undefined ? 0 : integerValue(priority)! }
}
