/**
 * User policies (rabbit_policy, rabbit_policies): named, per vhost, a regular expression over
 * queue or exchange names and a definition of settings. The matching policy with the highest
 * priority is an entity's effective policy; its settings combine with the entity's own
 * arguments as rabbit_queue_type_util:args_policy_lookup/3 does: limits and TTLs take the
 * smaller value, the other settings yield to the argument.
 *
 * Settings are resolved when a policy or an entity changes (Vhost), never per message.
 *
 * @module
 */
import { BrokerError } from '../api.ts'
import type { QueueConfig, QueueType } from './queue_args.ts'

/** What a policy applies to ('streams' is accepted and matches nothing: Warren has no streams). */
export type PolicyApplyTo = 'all' | 'queues' | 'exchanges' | 'classic_queues' | 'quorum_queues' | 'streams'

const APPLY_TO: readonly string[] = ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams']

/** A policy as stored and listed. */
export interface Policy {
  readonly vhost: string
  readonly name: string
  readonly pattern: string
  readonly applyTo: PolicyApplyTo
  readonly priority: number
  /** The settings, as JSON values (validated). */
  readonly definition: Readonly<Record<string, unknown>>
}

/** A policy with its compiled pattern (what a vhost keeps). */
export interface CompiledPolicy extends Policy {
  readonly regex: RegExp
}

/** Policy keys Warren honours, with their validators (rabbit_policies:validate_policy0/2). */
const HONOURED: Record<string, (v: unknown) => string | undefined> = {
  'alternate-exchange': (v) => (typeof v === 'string' ? undefined : `${erl(v)} is not a valid alternate exchange name`),
  'dead-letter-exchange': (v) => (typeof v === 'string' ? undefined : `${erl(v)} is not a valid dead letter exchange name`),
  'dead-letter-routing-key': (v) => (typeof v === 'string' ? undefined : `${erl(v)} is not a valid dead letter routing key`),
  'message-ttl': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid message TTL`),
  expires: (v) => (isInt(v, 1) ? undefined : `${erl(v)} is not a valid queue expiry`),
  'max-length': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid maximum length`),
  'max-length-bytes': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid maximum length in bytes`),
  overflow: (v) =>
    v === 'drop-head' || v === 'reject-publish' || v === 'reject-publish-dlx' ? undefined : `${erl(v)} is not a valid overflow value`,
  'delivery-limit': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid delivery limit`),
}

/**
 * Keys RabbitMQ knows that Warren accepts and ignores: one node has nothing to mirror,
 * federate or place, and its queues have one storage mode. Exports commonly carry them.
 */
const IGNORED: Record<string, (v: unknown) => string | undefined> = {
  'queue-mode': (v) => (v === 'default' || v === 'lazy' ? undefined : `${erl(v)} is not a valid queue-mode value`),
  'max-in-memory-length': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid maximum memory in bytes`),
  'max-in-memory-bytes': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid maximum memory in bytes`),
  'initial-cluster-size': (v) => (isInt(v, 0) ? undefined : `${erl(v)} is not a valid cluster size`),
}
const IGNORED_ANY = new Set([
  'ha-mode',
  'ha-params',
  'ha-sync-mode',
  'ha-sync-batch-size',
  'ha-promote-on-shutdown',
  'ha-promote-on-failure',
  'queue-master-locator',
  'queue-leader-locator',
  'queue-version',
  'federation-upstream-set',
  'federation-upstream',
  'max-age',
  'max-segment-size',
  'stream-max-segment-size-bytes',
  'dead-letter-strategy',
  'consumer-timeout',
])

function isInt(v: unknown, min: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min
}

/** A JSON value as Erlang's ~p prints the term RabbitMQ decodes it to. */
function erl(v: unknown): string {
  if (typeof v === 'string') return `<<${JSON.stringify(v)}>>`
  if (v === null) return 'null'
  if (Array.isArray(v)) return `[${v.map(erl).join(',')}]`
  if (typeof v === 'object') {
    return `#{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${erl(k)} => ${erl(x)}`).join(',')}}`
  }
  return String(v)
}

function invalid(text: string): BrokerError {
  // rabbit_runtime_parameters: "Validation failed~n~n" ++ Format ++ "~n".
  return new BrokerError('invalid-argument', `Validation failed\n\n${text}\n`)
}

/** The fields of a policy as a client sends them (management PUT body, definitions file). */
export interface PolicyInput {
  pattern?: unknown
  definition?: unknown
  priority?: unknown
  'apply-to'?: unknown
}

/**
 * Checks a policy as rabbit_policy:policy_validation/0 does and returns it compiled. Throws
 * BrokerError invalid-argument with RabbitMQ's text.
 */
export function parsePolicy(vhost: string, name: string, input: PolicyInput): CompiledPolicy {
  const { pattern, definition } = input
  const priority = input.priority ?? 0
  const applyTo = input['apply-to'] ?? 'all'
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw invalid(`priority should be a number, actually was ${erl(priority)}`)
  }
  if (typeof pattern !== 'string') throw invalid(`pattern should be a regular expression but was ${erl(pattern)}`)
  let regex: RegExp
  try {
    regex = new RegExp(pattern)
  } catch (error) {
    throw invalid(`pattern should be regular expression but is invalid: ${(error as Error).message}`)
  }
  if (typeof applyTo !== 'string' || !APPLY_TO.includes(applyTo)) {
    throw invalid(
      `apply-to '${String(applyTo)}' unrecognised; should be one of: 'queues', 'classic_queues',  'quorum_queues', 'streams', 'exchanges', or 'all'`,
    )
  }
  if (definition === undefined) throw invalid(`Key "definition" not found in ${name}`)
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw invalid(`definition must be a dictionary: ${erl(definition)}`)
  }
  const entries = Object.entries(definition as Record<string, unknown>)
  if (entries.length === 0) throw invalid('no policy provided')
  const unknown: string[] = []
  for (const [key, value] of entries) {
    const check = HONOURED[key] ?? IGNORED[key]
    if (check !== undefined) {
      const bad = check(value)
      if (bad !== undefined) throw invalid(bad)
    } else if (!IGNORED_ANY.has(key)) {
      unknown.push(`{${erl(key)},${erl(value)}}`)
    }
  }
  if (unknown.length > 0) throw invalid(`[${unknown.join(',')}] are not recognised policy settings`)
  return {
    vhost,
    name,
    pattern,
    applyTo: applyTo as PolicyApplyTo,
    priority,
    definition: { ...(definition as Record<string, unknown>) },
    regex,
  }
}

/** Orders policies as they are tried: highest priority first, ties by name. */
export function comparePolicies(a: Policy, b: Policy): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

function appliesToQueue(applyTo: PolicyApplyTo, type: QueueType): boolean {
  switch (applyTo) {
    case 'all':
    case 'queues':
      return true
    case 'classic_queues':
      return type === 'classic'
    case 'quorum_queues':
      return type === 'quorum'
    default:
      return false
  }
}

/** The effective policy of a queue among `ranked` (sorted by comparePolicies). */
export function matchQueuePolicy(ranked: readonly CompiledPolicy[], name: string, type: QueueType): CompiledPolicy | undefined {
  for (const p of ranked) if (appliesToQueue(p.applyTo, type) && p.regex.test(name)) return p
  return undefined
}

/** The effective policy of an exchange among `ranked`. */
export function matchExchangePolicy(ranked: readonly CompiledPolicy[], name: string): CompiledPolicy | undefined {
  for (const p of ranked) if ((p.applyTo === 'all' || p.applyTo === 'exchanges') && p.regex.test(name)) return p
  return undefined
}

/** The smaller of an argument (`unset` when absent) and a policy value. */
function minSetting(arg: number, unset: number, policy: unknown): number {
  if (typeof policy !== 'number') return arg
  return arg === unset ? policy : Math.min(arg, policy)
}

/**
 * A queue's settings under `policy`: its own `base` (from arguments) combined with the policy
 * definition (rabbit_amqqueue_process / rabbit_quorum_queue args_policy_lookup).
 */
export function queueConfigWithPolicy(base: QueueConfig, policy: Policy | undefined): QueueConfig {
  if (policy === undefined) return base
  const d = policy.definition
  let overflow = base.overflow
  // x-overflow has no "unset": drop-head is both default and argument. An argument that says
  // otherwise wins; a default drop-head yields to the policy.
  if (base.overflowSet !== true && typeof d['overflow'] === 'string') overflow = d['overflow'] as QueueConfig['overflow']
  if (base.type === 'quorum' && overflow === 'reject-publish-dlx') overflow = 'drop-head'
  const dlx = base.deadLetterExchange ?? (typeof d['dead-letter-exchange'] === 'string' ? d['dead-letter-exchange'] : undefined)
  const dlrk = base.deadLetterRoutingKey ?? (typeof d['dead-letter-routing-key'] === 'string' ? d['dead-letter-routing-key'] : undefined)
  let deliveryLimit = base.deliveryLimit
  const policyLimit = d['delivery-limit']
  if (base.type === 'quorum' && typeof policyLimit === 'number') {
    deliveryLimit = deliveryLimit === undefined ? policyLimit : Math.min(deliveryLimit, policyLimit)
  }
  return {
    ...base,
    messageTtl: minSetting(base.messageTtl, -1, d['message-ttl']),
    expires: minSetting(base.expires, 0, d['expires']),
    maxLength: minSetting(base.maxLength, -1, d['max-length']),
    maxLengthBytes: minSetting(base.maxLengthBytes, -1, d['max-length-bytes']),
    overflow,
    deadLetterExchange: dlx,
    deadLetterRoutingKey: dlrk,
    deliveryLimit,
  }
}

/** An exchange's alternate exchange: its argument, else the policy's. */
export function alternateWithPolicy(argument: string | undefined, policy: Policy | undefined): string | undefined {
  if (argument !== undefined || policy === undefined) return argument
  const ae = policy.definition['alternate-exchange']
  return typeof ae === 'string' ? ae : undefined
}

/** The policy without its compiled pattern (for listings and the definitions store). */
export function policyFacts(p: Policy): Policy {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: p.definition }
}
