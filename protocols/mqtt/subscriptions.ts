/**
 * A session's subscriptions and the core objects behind them, as RabbitMQ's MQTT plugin builds
 * them: every filter is a binding of one of the session's two queues on the MQTT exchange,
 * "mqtt-subscription-<client id>qos0" (consumed without acks) for QoS 0 filters and "...qos1"
 * (manual acks, the session's prefetch = the client's Receive Maximum) for QoS 1 and 2 filters.
 * A session that outlives its connection gets durable queues with x-expires and x-max-length
 * (the oldest messages go first); a clean one, exclusive queues.
 *
 * A shared subscription "$share/<group>/<filter>" is one queue per group and filter in the vhost,
 * "mqtt-shared-<group>/<filter>", consumed by every connected member: the core load-balances it.
 * It lives as long as a member's session does, so messages wait while every member is offline
 * (as in Mosquitto): declared durable when a persistent session creates it (capped by
 * x-max-length; x-expires = the longest session expiry, the net for members that expire while
 * nobody is connected), and deleted when the registry says its last member unsubscribed or ended.
 *
 * Queues and consumers are created on the first subscription that needs them. A message that
 * matches several filters of the session reaches each queue once; the delivery side (outbound.ts)
 * matches its topic against this session's own trie to choose QoS and subscription identifiers.
 *
 * @module
 */
import { BrokerError, type Session, type Table } from '../../src/api.ts'
import { TopicTrie } from '../../src/core/topic_trie.ts'
import type { SessionRegistry, SubscriptionRecord } from './session_registry.ts'
import { parseSharedFilter, type TopicMapper } from './topic.ts'

export interface Subscription {
  /** As the client wrote it, "$share/g/" prefix included. */
  readonly filter: string
  /** The AMQP binding pattern of the topic filter. */
  readonly pattern: string
  readonly qos: 0 | 1 | 2
  readonly noLocal: boolean
  readonly retainAsPublished: boolean
  readonly retainHandling: number
  /** v5 Subscription Identifier. */
  readonly id: number | undefined
  /** Shared subscription group. */
  readonly group: string | undefined
}

/** Which subscriptions a consumer of the session serves. */
export interface ConsumerRecord {
  /** 0 or 1: the session queue of that QoS class; undefined for a shared subscription. */
  readonly queue: 0 | 1 | undefined
  readonly noAck: boolean
  /** The shared subscription, for shared-queue consumers. */
  readonly sub: Subscription | undefined
}

/** What subscriptions need from their session. */
export interface SubscriptionsHost {
  /** The core session (opened on first use). */
  readonly coreSession: Session
  readonly clientId: string
  /** The session outlives its connection: durable queues with x-expires. */
  readonly persistent: boolean
  /** x-expires of durable session queues, ms. */
  readonly expiryMs: number
  readonly exchange: string
  readonly queueLimit: number
  readonly topics: TopicMapper
  /** Registry key of the session (shared group membership). */
  readonly key: string
  readonly registry: SessionRegistry
  /** x-expires of durable shared queues, ms: the longest session expiry granted. */
  readonly sharedExpiryMs: number
}

interface QueueState {
  readonly name: string
  readonly tag: string
}

const DOLLAR_RULE = { dollarRule: true } as const
const DOLLAR = 0x24
const STAR = 0x2a
const HASH = 0x23
const QUEUE_CLASS: readonly [ConsumerRecord, ConsumerRecord] = [
  { queue: 0, noAck: true, sub: undefined },
  { queue: 1, noAck: false, sub: undefined },
]

/** RabbitMQ's names for a session's queues. */
export function sessionQueueName(clientId: string, queueClass: 0 | 1): string {
  return `mqtt-subscription-${clientId}qos${queueClass}`
}

export function sharedQueueName(group: string, filter: string): string {
  return `mqtt-shared-${group}/${filter}`
}

/** The queue of a valid "$share/<group>/<filter>" subscription. */
function sharedQueueOf(sharedFilter: string): string {
  const shared = parseSharedFilter(sharedFilter) as { group: string; filter: string }
  return sharedQueueName(shared.group, shared.filter)
}

/** A subscription from its parts; the filter must have passed validation. */
export function makeSubscription(
  record: SubscriptionRecord,
  topics: TopicMapper,
): Subscription {
  const shared = parseSharedFilter(record.filter)
  const group = typeof shared === 'object' ? shared.group : undefined
  const topicFilter = typeof shared === 'object' ? shared.filter : record.filter
  return {
    filter: record.filter,
    pattern: topics.toPattern(topicFilter),
    qos: record.qos,
    noLocal: record.noLocal,
    retainAsPublished: record.retainAsPublished,
    retainHandling: record.retainHandling,
    id: record.id,
    group,
  }
}

function isRefusedRedeclare(error: unknown): boolean {
  return error instanceof BrokerError && (error.code === 'precondition-failed' || error.code === 'resource-locked')
}

export class Subscriptions {
  #host: SubscriptionsHost
  #byFilter: Map<string, Subscription> | undefined
  #trie: TopicTrie<Subscription> | undefined
  #queues: [QueueState | undefined, QueueState | undefined] = [undefined, undefined]
  #consumers: Map<string, ConsumerRecord> | undefined
  /** Shared subscriptions: filter -> its consumer tag. */
  #sharedTags: Map<string, string> | undefined
  #nextTag = 0
  #scratch: Subscription[] = []
  /** Non-shared subscriptions: with exactly one (`#only`), matching is a check, not a trie walk. */
  #plainCount = 0
  #only: Subscription | undefined

  constructor(host: SubscriptionsHost) {
    this.#host = host
  }

  get size(): number {
    return this.#byFilter?.size ?? 0
  }

  get(filter: string): Subscription | undefined {
    return this.#byFilter?.get(filter)
  }

  /** The consumer behind a delivery's consumer tag. Hot path. */
  consumer(tag: string): ConsumerRecord | undefined {
    return this.#consumers?.get(tag)
  }

  /**
   * The session's non-shared subscriptions matching a routing key, '$' rule applied. The array
   * is reused by the next call. Hot path.
   */
  match(routingKey: string): Subscription[] {
    const out = this.#scratch
    out.length = 0
    const only = this.#only
    if (only !== undefined) {
      // The only filter bound the session queue, so it matches, unless the '$' rule says
      // otherwise: a leading wildcard does not match a "$" topic [MQTT-4.7.2-1].
      const first = only.pattern.charCodeAt(0)
      if (routingKey.charCodeAt(0) !== DOLLAR || (first !== STAR && first !== HASH)) out.push(only)
    } else {
      this.#trie?.match(routingKey, out, DOLLAR_RULE)
    }
    return out
  }

  /**
   * Adds or replaces [MQTT-3.8.4-3] a subscription. Throws the core's BrokerError when a queue,
   * binding or consumer is refused; the session's state is then unchanged.
   */
  add(sub: Subscription): void {
    if (sub.group !== undefined) return this.#addShared(sub)
    const session = this.#host.coreSession
    const queueClass = sub.qos > 0 ? 1 : 0
    const queue = this.#queue(queueClass)
    session.bind({ source: this.#host.exchange, destination: queue.name, destinationKind: 'queue', routingKey: sub.pattern })
    const map = (this.#byFilter ??= new Map())
    const old = map.get(sub.filter)
    map.set(sub.filter, sub)
    if (old !== undefined) {
      this.#trie?.remove(old.pattern, old)
      if ((old.qos > 0) !== (sub.qos > 0)) this.#unbindIfUnused(old)
    } else {
      this.#plainCount++
    }
    this.#indexChanged(sub)
  }

  /**
   * One filter needs no trie (the common device subscribes once): `#only` stands for it. From
   * two on, the trie is built and kept; back at one, it goes.
   */
  #indexChanged(added: Subscription | undefined): void {
    const map = this.#byFilter!
    if (this.#plainCount <= 1) {
      this.#trie = undefined
      this.#only = undefined
      if (this.#plainCount === 1) for (const s of map.values()) if (s.group === undefined) this.#only = s
      return
    }
    this.#only = undefined
    if (this.#trie === undefined) {
      const trie = new TopicTrie<Subscription>()
      for (const s of map.values()) if (s.group === undefined) trie.add(s.pattern, s)
      this.#trie = trie
      return
    }
    // The trie is current but for the subscription just added (or replacing an old one).
    if (added !== undefined) this.#trie.add(added.pattern, added)
  }

  /** Removes a subscription; false when there was none [MQTT-3.10.4-5]. */
  remove(filter: string): boolean {
    const sub = this.#byFilter?.get(filter)
    if (sub === undefined) return false
    this.#byFilter!.delete(filter)
    if (sub.group !== undefined) {
      const tag = this.#sharedTags?.get(filter)
      this.#sharedTags?.delete(filter)
      if (tag !== undefined) {
        this.#consumers?.delete(tag)
        this.#host.coreSession.cancel(tag)
      }
      const queue = sharedQueueOf(filter)
      if (this.#host.registry.leave(this.#host.key, queue)) this.deleteSharedQueues([queue])
      return true
    }
    this.#trie?.remove(sub.pattern, sub)
    this.#plainCount--
    this.#indexChanged(undefined)
    this.#unbindIfUnused(sub)
    return true
  }

  /** What a persistent session remembers. */
  records(): SubscriptionRecord[] {
    const out: SubscriptionRecord[] = []
    if (this.#byFilter === undefined) return out
    for (const s of this.#byFilter.values()) {
      const r: SubscriptionRecord = {
        filter: s.filter,
        qos: s.qos,
        noLocal: s.noLocal,
        retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling,
      }
      if (s.id !== undefined) r.id = s.id
      out.push(r)
    }
    return out
  }

  /** The core removed a consumer (its queue was deleted): forget it. */
  consumerCancelled(tag: string): void {
    const record = this.#consumers?.get(tag)
    if (record === undefined) return
    this.#consumers!.delete(tag)
    if (record.queue !== undefined && this.#queues[record.queue]?.tag === tag) this.#queues[record.queue] = undefined
  }

  /**
   * The session ends for good: it leaves its shared groups. Returns the shared queues whose last
   * member it was (the caller deletes them with `deleteSharedQueues`).
   */
  leaveSharedGroups(): string[] {
    const emptied: string[] = []
    if (this.#sharedTags === undefined) return emptied
    const host = this.#host
    for (const filter of this.#sharedTags.keys()) {
      const queue = sharedQueueOf(filter)
      if (host.registry.leave(host.key, queue)) emptied.push(queue)
    }
    return emptied
  }

  /** Deletes shared queues nobody belongs to any more; one that is gone already is no error. */
  deleteSharedQueues(queues: readonly string[]): void {
    for (const queue of queues) {
      try {
        this.#host.coreSession.deleteQueue(queue)
      } catch {
        // Deleted meanwhile (management, AMQP): nothing left to do.
      }
    }
  }

  /** Deletes the session queues (the session ends: expiry 0 after a persistent past). */
  deleteSessionQueues(): void {
    const session = this.#host.coreSession
    for (const queueClass of [0, 1] as const) {
      this.#queues[queueClass] = undefined
      session.deleteQueue(sessionQueueName(this.#host.clientId, queueClass))
    }
  }

  /** The session queue of a QoS class, declared and consumed on first use. */
  #queue(queueClass: 0 | 1): QueueState {
    const existing = this.#queues[queueClass]
    if (existing !== undefined) return existing
    const host = this.#host
    const session = host.coreSession
    const name = sessionQueueName(host.clientId, queueClass)
    try {
      if (host.persistent) {
        // While its client is away nobody drains it: the cap keeps an abandoned device from
        // filling memory. A clean session's queue lives only while its client reads it; the
        // broker's memory alarm throttles publishers instead of dropping at-least-once messages.
        const args: Table = { 'x-max-length': host.queueLimit, 'x-expires': host.expiryMs }
        session.declareQueue(name, { durable: true, args })
      } else {
        session.declareQueue(name, { exclusive: true })
      }
    } catch (error) {
      // The queue exists with other settings (the session expiry changed): keep it as it is.
      if (!isRefusedRedeclare(error)) throw error
      session.declareQueue(name, { passive: true })
    }
    const tag = `qos${queueClass}`
    session.consume(name, { tag, noAck: queueClass === 0 })
    const state = { name, tag }
    this.#queues[queueClass] = state
    ;(this.#consumers ??= new Map()).set(tag, QUEUE_CLASS[queueClass])
    return state
  }

  #addShared(sub: Subscription): void {
    const host = this.#host
    const session = host.coreSession
    const name = sharedQueueOf(sub.filter)
    const old = this.#byFilter?.get(sub.filter)
    const oldTag = this.#sharedTags?.get(sub.filter)
    let tag = oldTag
    if (old === undefined || (old.qos === 0) !== (sub.qos === 0)) {
      this.#declareShared(name)
      session.bind({ source: host.exchange, destination: name, destinationKind: 'queue', routingKey: sub.pattern })
      // The new consumer first, so the queue is never without this member's consumer.
      tag = session.consume(name, { tag: `share${++this.#nextTag}`, noAck: sub.qos === 0 })
      if (oldTag !== undefined) {
        this.#consumers?.delete(oldTag)
        session.cancel(oldTag)
      }
    }
    ;(this.#byFilter ??= new Map()).set(sub.filter, sub)
    ;(this.#sharedTags ??= new Map()).set(sub.filter, tag!)
    ;(this.#consumers ??= new Map()).set(tag!, { queue: undefined, noAck: sub.qos === 0, sub })
    host.registry.join(host.key, name)
  }

  /**
   * A shared group's queue: durable when a persistent session creates it, so it outlives every
   * member's connection; plain (gone at a broker restart, never auto-deleted) for a clean one.
   * An existing queue is used as it is, whoever declared it first.
   */
  #declareShared(name: string): void {
    const host = this.#host
    const session = host.coreSession
    try {
      if (host.persistent) {
        session.declareQueue(name, { durable: true, args: { 'x-max-length': host.queueLimit, 'x-expires': host.sharedExpiryMs } })
      } else {
        session.declareQueue(name, {})
      }
    } catch (error) {
      if (!isRefusedRedeclare(error)) throw error
      session.declareQueue(name, { passive: true })
    }
  }

  /** Unbinds `sub`'s pattern from its queue unless another filter of the same class still needs it. */
  #unbindIfUnused(sub: Subscription): void {
    const queueClass = sub.qos > 0 ? 1 : 0
    const queue = this.#queues[queueClass]
    if (queue === undefined) return
    for (const other of this.#byFilter!.values()) {
      if (other.group === undefined && other.pattern === sub.pattern && (other.qos > 0 ? 1 : 0) === queueClass) return
    }
    this.#host.coreSession.unbind({ source: this.#host.exchange, destination: queue.name, destinationKind: 'queue', routingKey: sub.pattern })
  }
}
