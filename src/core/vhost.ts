/**
 * One virtual host: its exchanges, queues and bindings, and the primitive operations on them
 * (create, delete with cascades, bind, route, dead-letter). RabbitMQ's checks (permissions,
 * names, equivalence, exclusivity) are in topology.ts; this module trusts its callers.
 *
 * @module
 */
import type { Message, Table, VhostMetadata } from '../api.ts'
import type { DefinitionsObserver } from '../store/definitions_observer.ts'
import type { StoreFactory } from '../store/store.ts'
import { deadLetteredMessage, DeadLetterQueue, type DeathReason, type DeathTarget, isDeathCycle } from './dead_letter.ts'
import { type Destination, Exchange, type ExchangeOptions, route } from './exchange.ts'
import { getExchangeType } from './exchange_type.ts'
import type { MemoryAlarm } from './memory_alarm.ts'
import { type CompiledPolicy, comparePolicies, matchExchangePolicy, matchQueuePolicy, policyFacts } from './policy.ts'
import { Queue, type QueueHost, type QueueOptions } from './queue.ts'
import { type ActivitySampler, MessageCounters } from './stats.ts'

/** Broker-wide services a vhost uses. */
export interface VhostContext {
  readonly alarm: MemoryAlarm
  readonly storeFactory: StoreFactory
  /** Told about every definition change (the durable definitions store); absent: nothing durable. */
  readonly observer?: DefinitionsObserver
}

/**
 * The exchanges every vhost starts with (rabbit_vhost:do_add/3: amq.* are durable system
 * exchanges; amq.rabbitmq.trace, the firehose tracer's, is internal). Name, type, internal.
 */
const predeclared: [string, string, boolean][] = [
  ['', 'direct', false],
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
]

export class Vhost implements QueueHost {
  readonly name: string
  readonly exchanges = new Map<string, Exchange>()
  readonly queues = new Map<string, Queue>()
  readonly alarm: MemoryAlarm
  readonly storeFactory: StoreFactory
  readonly defaultExchange: Exchange
  /** Message counters of the whole vhost for the management API (publishes, deliveries, acks). */
  readonly stats = new MessageCounters()
  sampler: ActivitySampler | undefined
  /** User policies by name. */
  readonly policies = new Map<string, CompiledPolicy>()
  /** `policies` in the order they are tried (comparePolicies). */
  #ranked: CompiledPolicy[] = []
  #metadata: VhostMetadata = { description: '', tags: [], defaultQueueType: 'classic' }
  readonly #observer: DefinitionsObserver | undefined
  #deadLetters = new DeadLetterQueue((queue, message, reason) => this.#publishDeadLetter(queue, message, reason))

  constructor(name: string, ctx: VhostContext) {
    this.name = name
    this.alarm = ctx.alarm
    this.storeFactory = ctx.storeFactory
    this.#observer = ctx.observer
    for (const [xname, type, internal] of predeclared) {
      this.addExchange({ name: xname, type, durable: true, autoDelete: false, internal, args: undefined })
    }
    this.defaultExchange = this.exchanges.get('')!
  }

  /** Management metadata (RabbitMQ's vhost description, tags, default queue type). */
  get metadata(): VhostMetadata {
    return this.#metadata
  }

  set metadata(metadata: VhostMetadata) {
    this.#metadata = metadata
    this.#observer?.vhostChanged(this.name, metadata)
  }

  /** Creates an exchange of a registered type (the caller checked the type exists). */
  addExchange(opts: ExchangeOptions): Exchange {
    const type = getExchangeType(opts.type)
    if (type === undefined) throw new TypeError(`Cannot create exchange "${opts.name}": unknown type "${opts.type}"`)
    const x = new Exchange(opts, type.create<Destination>())
    if (this.#ranked.length !== 0) x.setPolicy(matchExchangePolicy(this.#ranked, x.name))
    this.exchanges.set(x.name, x)
    this.#observer?.exchangeAdded(this.name, x)
    return x
  }

  /** Deletes an exchange with its bindings both ways; auto-delete sources may follow. */
  removeExchange(x: Exchange): void {
    if (x.deleted) return
    x.deleted = true
    this.exchanges.delete(x.name)
    for (const binding of x.router.bindings()) binding.destination.boundFrom.delete(x)
    this.#unbindEverywhere(x)
    this.#observer?.exchangeRemoved(this.name, x)
  }

  addQueue(opts: QueueOptions): Queue {
    const policy = this.#ranked.length === 0 ? undefined : matchQueuePolicy(this.#ranked, opts.name, opts.config.type)
    const q = new Queue(this, policy === undefined ? opts : { ...opts, policy })
    this.queues.set(q.name, q)
    if (opts.owner !== null) opts.owner.exclusiveQueues.add(q)
    this.#observer?.queueAdded(this.name, q)
    return q
  }

  /**
   * Deletes a queue: bindings go (auto-delete exchanges may follow), every consumer is told
   * (consumerCancelled), the store is dropped. Returns the ready messages deleted.
   */
  removeQueue(q: Queue): number {
    if (q.deleted) return 0
    this.queues.delete(q.name)
    q.owner?.exclusiveQueues.delete(q)
    this.#unbindEverywhere(q)
    const consumers = [...q.consumers.all]
    const count = q.destroy()
    this.#observer?.queueRemoved(this.name, q)
    for (const consumer of consumers) consumer.session.consumerCancelled(consumer)
    return count
  }

  /**
   * Creates (true) or replaces (false) a policy (checked by parsePolicy) and applies the
   * effective policies of every queue and exchange again.
   */
  putPolicy(policy: CompiledPolicy): boolean {
    const created = !this.policies.has(policy.name)
    this.policies.set(policy.name, policy)
    this.#policiesChanged()
    this.#observer?.policyChanged?.(this.name, policy.name, policyFacts(policy))
    return created
  }

  /** Deletes a policy; false when there is none of that name. */
  deletePolicy(name: string): boolean {
    if (!this.policies.delete(name)) return false
    this.#policiesChanged()
    this.#observer?.policyChanged?.(this.name, name, undefined)
    return true
  }

  /** Re-resolves every entity's effective policy; only those whose policy changed are told. */
  #policiesChanged(): void {
    const ranked = [...this.policies.values()].sort(comparePolicies)
    this.#ranked = ranked
    for (const x of this.exchanges.values()) {
      const p = matchExchangePolicy(ranked, x.name)
      if (p !== x.policy) x.setPolicy(p)
    }
    for (const q of [...this.queues.values()]) {
      const p = matchQueuePolicy(ranked, q.name, q.baseConfig.type)
      if (p !== q.policy) q.setPolicy(p)
    }
  }

  /** Adds a binding; an identical existing one is fine. */
  bind(source: Exchange, destination: Destination, routingKey: string, args: Table | undefined): void {
    if (!source.router.bind(destination, routingKey, args)) return
    destination.boundFrom.add(source)
    this.#observer?.bindingChanged(this.name, true, { source, destination, routingKey, args })
  }

  /** Removes a binding if it exists; an auto-delete source without bindings goes. */
  unbind(source: Exchange, destination: Destination, routingKey: string, args: Table | undefined): void {
    if (!source.router.unbind(destination, routingKey, args)) return
    if (!source.router.hasBindings(destination)) destination.boundFrom.delete(source)
    this.#observer?.bindingChanged(this.name, false, { source, destination, routingKey, args })
    if (source.autoDelete && source.router.size === 0) this.removeExchange(source)
  }

  /** Appends the queues `x` routes to (default exchange: the queue named by the key). Hot path. */
  routeTo(x: Exchange, routingKey: string, headers: Table | undefined, out: Queue[]): void {
    if (x === this.defaultExchange) {
      const q = this.queues.get(routingKey)
      if (q !== undefined) out.push(q)
      return
    }
    route(this.exchanges, x, routingKey, headers, out)
  }

  /** QueueHost: a queue dead-letters a message (rejected, expired, maxlen). */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void {
    this.#deadLetters.push(queue, message, reason)
  }

  /** QueueHost: auto-delete after the last consumer, or x-expires. */
  expire(queue: Queue): void {
    this.removeQueue(queue)
  }

  /** Removes every binding to `destination` and lets emptied auto-delete exchanges go. */
  #unbindEverywhere(destination: Destination): void {
    const sources = [...destination.boundFrom]
    destination.boundFrom.clear()
    for (const source of sources) {
      source.router.removeDestination(destination)
      if (source.autoDelete && source.router.size === 0) this.removeExchange(source)
    }
  }

  #publishDeadLetter(target: DeathTarget, message: Message, reason: DeathReason): void {
    const queue = target as Queue
    const dlxName = queue.config.deadLetterExchange
    const dlx = dlxName === undefined ? undefined : this.exchanges.get(dlxName)
    if (dlx === undefined) return
    const dead = deadLetteredMessage(message, reason, queue.name, dlx.name, queue.config.deadLetterRoutingKey, Date.now())
    const targets: Queue[] = []
    this.routeTo(dlx, dead.routingKey, dead.properties.headers, targets)
    for (const q of targets) {
      if (reason !== 'rejected' && isDeathCycle(q.name, dead)) continue
      q.enqueue(dead, -1)
    }
  }
}
