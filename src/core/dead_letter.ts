/**
 * Dead-lettering as rabbit_dead_letter.erl and mc:record_death/4 do it: a new Message (same body)
 * with the x-death history, x-first-death-* / x-last-death-* headers, the expiration removed,
 * published to the dead-letter exchange; queues that would make a fully automatic cycle are
 * skipped.
 *
 * @module
 */
import type { FieldValue, Message, MessageProperties, Table, TypedNumber } from '../api.ts'
import { log } from '../log.ts'

/** Why a message died (the x-death reason); 'delivery_limit' is a quorum queue's x-delivery-limit. */
export type DeathReason = 'expired' | 'rejected' | 'maxlen' | 'delivery_limit'

export interface DeathTarget {
  readonly name: string
}

function isTable(v: FieldValue): v is Table {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date) &&
    (v as { kind?: unknown }).kind === undefined
  )
}

/** RabbitMQ writes the count as an AMQP long ('l'); some clients read it as exactly that. */
function long(n: number): TypedNumber {
  return { kind: 'typed-number', type: 'l', value: n }
}

function countOf(v: FieldValue): number {
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v)
  const typed = v as { kind?: unknown; value?: unknown }
  return typed?.kind === 'typed-number' ? Number(typed.value) : 0
}

/** The x-death records of a message, most recent first (as RabbitMQ writes them). */
function deaths(headers: Table | undefined): Table[] {
  const list = headers?.['x-death']
  if (!Array.isArray(list)) return []
  return list.filter(isTable)
}

/**
 * The message to publish to the dead-letter exchange `dlx`. The death of `queue` for `reason`
 * is recorded: an existing (queue, reason) record gets its count incremented and moves to the
 * front, otherwise a new record is prepended.
 */
export function deadLetteredMessage(
  message: Message,
  reason: DeathReason,
  queue: string,
  dlx: string,
  routingKey: string | undefined,
  now: number,
): Message {
  const props = message.properties
  const headers: Table = { ...props.headers }
  const history = deaths(props.headers)
  const index = history.findIndex((d) => d['queue'] === queue && d['reason'] === reason)
  let record: Table
  if (index >= 0) {
    const old = history[index]!
    record = { ...old, count: long(countOf(old['count']) + 1) }
    history.splice(index, 1)
  } else {
    record = {}
    // Written only when the message carried an expiration (mc_amqpl:death_table/7).
    if (props.expiration !== undefined) record['original-expiration'] = props.expiration
    record['count'] = long(1)
    record['reason'] = reason
    record['queue'] = queue
    record['time'] = new Date(Math.floor(now / 1000) * 1000)
    record['exchange'] = message.exchange
    record['routing-keys'] = [message.routingKey]
  }
  history.unshift(record)
  headers['x-death'] = history
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason
    headers['x-first-death-queue'] = queue
    headers['x-first-death-exchange'] = message.exchange
  }
  headers['x-last-death-reason'] = reason
  headers['x-last-death-queue'] = queue
  headers['x-last-death-exchange'] = message.exchange
  const properties: MessageProperties = { ...props, headers }
  delete properties.expiration
  return { exchange: dlx, routingKey: routingKey ?? message.routingKey, properties, body: message.body }
}

/**
 * mc:is_death_cycle/2 (deaths v2): dropping the message for `target` when it already died in
 * that queue and no death since (that one included) was a client's rejection.
 */
export function isDeathCycle(target: string, message: Message): boolean {
  const history = deaths(message.properties.headers)
  for (const record of history) {
    if (record['reason'] === 'rejected') return false
    if (record['queue'] === target) return true
  }
  return false
}

interface Pending {
  queue: DeathTarget
  message: Message
  reason: DeathReason
}

/**
 * Runs dead-letter publishes one after another instead of recursively: a dead-lettered message
 * can overflow the next queue, which dead-letters its head, and so on.
 */
export class DeadLetterQueue {
  #pending: Pending[] = []
  #running = false
  #publish: (queue: DeathTarget, message: Message, reason: DeathReason) => void

  constructor(publish: (queue: DeathTarget, message: Message, reason: DeathReason) => void) {
    this.#publish = publish
  }

  push(queue: DeathTarget, message: Message, reason: DeathReason): void {
    this.#pending.push({ queue, message, reason })
    if (this.#running) return
    this.#running = true
    try {
      for (let i = 0; i < this.#pending.length; i++) {
        const p = this.#pending[i]!
        try {
          this.#publish(p.queue, p.message, p.reason)
        } catch (error) {
          // A dead-letter publish that fails is dropped, as RabbitMQ logs and drops it.
          log.once('core.dead-letter', 'warn', 'Dead-lettering failed', { queue: p.queue.name, error: String(error) })
        }
      }
    } finally {
      this.#pending.length = 0
      this.#running = false
    }
  }
}
