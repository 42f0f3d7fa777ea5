/**
 * A queue: its message store, consumers and the delivery loop, max-length overflow, message
 * TTL at the head, queue expiry and auto-delete. Routing, bindings and deletion live in the
 * vhost; dead-letter routing goes back through the host.
 *
 * A quorum queue (config.type) runs the same machinery with rabbit_fifo's differences: every
 * message is kept on disk, x-delivery-limit caps returns, redeliveries carry x-delivery-count,
 * and reject-publish refuses only once the queue is already over its limit.
 *
 * @module
 */
import type { Message, Table, TypedNumber } from '../api.ts'
import type { MessageStore, StoredMessage, StoreFactory } from '../store/store.ts'
import { type PersistWaiter, PersistWaiters } from './confirms.ts'
import type { DeathReason } from './dead_letter.ts'
import { type Consumer, ConsumerList } from './consumer.ts'
import type { Exchange } from './exchange.ts'
import { Deadline, deadline } from './expiry.ts'
import type { MemoryAlarm } from './memory_alarm.ts'
import { type CompiledPolicy, queueConfigWithPolicy } from './policy.ts'
import { overLimit, priorityLevel, type QueueConfig } from './queue_args.ts'
import { yieldToLoop } from './scheduler.ts'
import { type ActivitySampler, MessageCounters } from './stats.ts'

/** Messages delivered (or expired) per turn before a busy queue yields to the event loop. */
const DRAIN_BUDGET = 512

/** What a queue needs from its vhost. */
export interface QueueHost {
  readonly name: string
  /** The vhost's message counters (acks are counted per queue and per vhost). */
  readonly stats: MessageCounters
  readonly alarm: MemoryAlarm
  readonly storeFactory: StoreFactory
  /** Routes `message` to the queue's dead-letter exchange, if it has one. */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void
  /** The queue removes itself: auto-delete after its last consumer, or x-expires. */
  expire(queue: Queue): void
}

/** The connection that owns an exclusive queue. */
export interface QueueOwner {
  readonly exclusiveQueues: Set<Queue>
}

export interface QueueOptions {
  name: string
  durable: boolean
  autoDelete: boolean
  /** The declaring connection of an exclusive queue, else null. */
  owner: QueueOwner | null
  args: Table | undefined
  /** The settings from `args` alone. */
  config: QueueConfig
  /** The queue's effective policy when it is created. */
  policy?: CompiledPolicy
}

export class Queue {
  readonly kind = 'queue'
  readonly name: string
  readonly durable: boolean
  readonly autoDelete: boolean
  readonly owner: QueueOwner | null
  readonly args: Table | undefined
  /** The settings from the queue's arguments alone. */
  readonly baseConfig: QueueConfig
  /** The settings in force: `baseConfig` combined with `policy` (see setPolicy). */
  config: QueueConfig
  /** The effective policy, if any. */
  policy: CompiledPolicy | undefined
  readonly store: MessageStore
  readonly consumers: ConsumerList
  readonly host: QueueHost
  /** Routing epoch that last reached this queue: dedupes multiple bindings per publish. */
  routeMark = 0
  /** Exchanges with at least one binding to this queue. */
  readonly boundFrom = new Set<Exchange>()
  deleted = false
  /** Message counters for the management API; `sampler` is created when rates are first asked. */
  readonly stats = new MessageCounters()
  sampler: ActivitySampler | undefined

  #hadConsumer = false
  #draining = false
  #again = false
  #drainQueued = false
  #yieldQueued = false
  /** Set once any message with a deadline was enqueued; until then no head checks are needed. */
  #expiring: boolean
  #ttlTimer: Deadline
  #idleTimer: Deadline | undefined
  #waiters: PersistWaiters | undefined
  #drainTask = (): void => {
    this.#drainQueued = false
    this.#yieldQueued = false
    if (!this.deleted) this.#drain(undefined)
  }

  constructor(host: QueueHost, opts: QueueOptions) {
    this.host = host
    this.name = opts.name
    this.durable = opts.durable
    this.autoDelete = opts.autoDelete
    this.owner = opts.owner
    this.args = opts.args
    this.baseConfig = opts.config
    this.policy = opts.policy
    this.config = queueConfigWithPolicy(opts.config, opts.policy)
    this.consumers = new ConsumerList(opts.config.singleActiveConsumer)
    this.store = host.storeFactory.create(
      {
        vhost: host.name,
        name: opts.name,
        durable: opts.durable,
        maxPriority: opts.config.maxPriority,
        persistAll: opts.config.type === 'quorum',
      },
      {
        persisted: (entry) => this.#waiters?.persisted(entry),
        paged: (bytes) => (bytes > 0 ? host.alarm.add(bytes) : host.alarm.remove(-bytes)),
      },
    )
    this.#expiring = this.config.messageTtl >= 0
    this.#ttlTimer = new Deadline(() => {
      if (!this.deleted) this.#expireHead()
    })
    if (this.config.expires > 0) this.#armIdle()
    // A durable store may open with messages recovered from disk: they count like enqueued ones.
    if (this.store.readyCount > 0) {
      host.alarm.add(this.store.readyBytes)
      this.#expiring = true
      this.#armTtl()
    }
  }

  /**
   * Accepts a published (or dead-lettered) message. Returns its entry, or null when overflow
   * (reject-publish) refused it. `messageTtl` is the parsed `expiration` property or -1. Hot path.
   */
  enqueue(message: Message, messageTtl: number): StoredMessage | null {
    if (this.deleted) return null
    const cfg = this.config
    const size = message.body.byteLength
    if (cfg.overflow !== 'drop-head' && this.#refuses(size)) {
      if (cfg.overflow === 'reject-publish-dlx') this.host.deadLetter(this, message, 'maxlen')
      return null
    }
    const priority = cfg.maxPriority > 0 ? priorityLevel(cfg, message.properties.priority) : 0
    let expiresAt = 0
    if (messageTtl >= 0 || cfg.messageTtl >= 0) {
      expiresAt = deadline(cfg.messageTtl, messageTtl, Date.now())
      this.#expiring = true
    }
    const entry = this.store.append(message, { size, priority, expiresAt })
    this.host.alarm.add(size)
    this.stats.publish++
    if (this.consumers.size !== 0) this.#drain(entry)
    // Only drop-head drops: a quorum queue's reject-publish lets the queue run over by one.
    if (cfg.overflow === 'drop-head' && (cfg.maxLength >= 0 || cfg.maxLengthBytes >= 0)) this.#dropOverflow()
    // A message whose TTL ran out before a consumer could take it goes now (TTL 0).
    if (expiresAt !== 0) this.#expireHead()
    return entry
  }

  /** Registers a publisher-confirm waiter for an entry the store has not persisted yet. */
  awaitPersisted(entry: StoredMessage, waiter: PersistWaiter, id: number): void {
    this.#waiters ??= new PersistWaiters()
    this.#waiters.add(entry, waiter, id)
  }

  /** get(): takes the next live message, or undefined. */
  take(): StoredMessage | undefined {
    this.touch()
    if (this.#expiring) this.#expireHead()
    return this.store.shift()
  }

  /** An outstanding entry was acknowledged or delivered no-ack. */
  ack(entry: StoredMessage): void {
    if (this.deleted) return
    this.store.settle(entry)
    this.host.alarm.remove(entry.size)
  }

  /**
   * An outstanding entry goes back to its original place; call `drain()` after a batch. Past a
   * quorum queue's x-delivery-limit it is dead-lettered ('delivery_limit') or dropped instead.
   */
  requeue(entry: StoredMessage): void {
    if (this.deleted) return
    entry.deliveryCount++
    const limit = this.config.deliveryLimit
    if (limit !== undefined && entry.deliveryCount > limit) return this.#dispose(entry, 'delivery_limit')
    this.store.requeue(entry)
    if (entry.expiresAt !== 0) this.#armTtl()
  }

  /**
   * The message of `entry` as a client receives it. A quorum queue adds an x-delivery-count
   * header (a long) once the message was returned, and on every basic.get (`get`), as
   * rabbit_fifo_client does; the copy shares the body. Other queues hand out the stored message.
   */
  deliveredMessage(entry: StoredMessage, get: boolean): Message {
    const message = entry.message
    if (this.config.type !== 'quorum' || (entry.deliveryCount === 0 && !get)) return message
    const count: TypedNumber = { kind: 'typed-number', type: 'l', value: entry.deliveryCount }
    const headers = { ...message.properties.headers, 'x-delivery-count': count }
    return { ...message, properties: { ...message.properties, headers } }
  }

  /** A reject without requeue: dead-letter ('rejected') or drop. */
  reject(entry: StoredMessage): void {
    if (this.deleted) return
    this.#dispose(entry, 'rejected')
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.add(consumer)
    this.#hadConsumer = true
    this.#idleTimer?.clear()
    // Deferred: the adapter must confirm the consume to its client before the first delivery.
    this.scheduleDrain()
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumers.remove(consumer) || this.deleted) return
    if (this.consumers.size === 0) {
      if (this.autoDelete && this.#hadConsumer) return this.host.expire(this)
      this.touch()
    } else if (this.config.singleActiveConsumer) {
      this.scheduleDrain()
    }
  }

  /**
   * A policy was set, changed or cleared: the settings are resolved again and take effect at
   * once, as rabbit_amqqueue_process:process_args_policy does. A lower limit drops (or
   * dead-letters) the overflow of a drop-head queue; a new expiry re-arms the idle timer; a
   * message TTL applies to messages enqueued from now on (each message keeps the deadline it
   * was given on arrival).
   */
  setPolicy(policy: CompiledPolicy | undefined): void {
    this.policy = policy
    const before = this.config
    const cfg = queueConfigWithPolicy(this.baseConfig, policy)
    this.config = cfg
    if (this.deleted) return
    if (cfg.messageTtl >= 0) this.#expiring = true
    if (cfg.expires !== before.expires) {
      if (cfg.expires > 0) this.#armIdle()
      else {
        this.#idleTimer?.clear()
        this.#idleTimer = undefined
      }
    }
    if (cfg.overflow === 'drop-head' && (cfg.maxLength >= 0 || cfg.maxLengthBytes >= 0)) this.#dropOverflow()
  }

  /** Counts as use for x-expires (declare, passive declare, get). */
  touch(): void {
    if (this.#idleTimer !== undefined && this.consumers.size === 0) this.#idleTimer.restart(this.config.expires)
  }

  /** Delivers what consumers with credit can take now (credit came back). */
  drain(): void {
    if (this.consumers.size !== 0 && this.store.readyCount !== 0) this.#drain(undefined)
  }

  /** Delivers soon (next microtask), once however often it is asked. */
  scheduleDrain(): void {
    if (this.#drainQueued) return
    this.#drainQueued = true
    queueMicrotask(this.#drainTask)
  }

  purge(): number {
    const count = this.store.readyCount
    this.host.alarm.remove(this.store.readyBytes)
    this.store.purge()
    return count
  }

  /** Broker shutdown: timers stop, the store flushes; the queue is not deleted. */
  stop(): Promise<void> {
    this.#ttlTimer.clear()
    this.#idleTimer?.clear()
    this.deleted = true
    return this.store.flush?.() ?? Promise.resolve()
  }

  /** Called by the vhost when the queue is deleted; returns the ready messages dropped. */
  destroy(): number {
    if (this.deleted) return 0
    this.deleted = true
    this.#ttlTimer.clear()
    this.#idleTimer?.clear()
    const count = this.store.readyCount
    this.host.alarm.remove(this.store.readyBytes + this.store.outstandingBytes)
    this.store.close()
    this.#waiters?.releaseAll()
    return count
  }

  /**
   * Whether reject-publish refuses a message of `size` bytes. A classic queue refuses what would
   * take it over its limits; a quorum queue refuses only while it already is over them (so it
   * can exceed x-max-length by one message, as rabbit_fifo's enqueuers do).
   */
  #refuses(size: number): boolean {
    const store = this.store
    if (this.config.type === 'quorum') return overLimit(this.config, store.readyCount, store.readyBytes)
    return overLimit(this.config, store.readyCount + 1, store.readyBytes + size)
  }

  /** x-overflow drop-head: drop (dead-letter 'maxlen') from the head until within the limits. */
  #dropOverflow(): void {
    const store = this.store
    while (store.readyCount > 0 && overLimit(this.config, store.readyCount, store.readyBytes)) {
      this.#dispose(store.shift()!, 'maxlen')
    }
  }

  /** Removes an outstanding entry for good, dead-lettering it when the queue has a DLX. */
  #dispose(entry: StoredMessage, reason: DeathReason): void {
    this.store.settle(entry)
    this.host.alarm.remove(entry.size)
    if (this.config.deadLetterExchange !== undefined) this.host.deadLetter(this, entry.message, reason)
  }

  /** The delivery loop. `fresh` (just enqueued) is exempt from expiry so TTL 0 can still deliver. */
  #drain(fresh: StoredMessage | undefined): void {
    if (this.#draining) {
      this.#again = true
      return
    }
    this.#draining = true
    const store = this.store
    let budget = DRAIN_BUDGET
    try {
      do {
        this.#again = false
        for (;;) {
          const head = store.peek()
          if (head === undefined) break
          if (budget-- === 0) {
            // Yield so one busy queue cannot starve sockets and timers; carry on next turn.
            if (!this.#yieldQueued) yieldToLoop(this.#drainTask)
            this.#yieldQueued = true
            this.#again = false
            break
          }
          if (head.expiresAt !== 0 && head !== fresh && head.expiresAt <= Date.now()) {
            this.#dispose(store.shift()!, 'expired')
            continue
          }
          const consumer = this.consumers.next()
          if (consumer === undefined) break
          store.shift()
          consumer.session.deliverFromQueue(consumer, this, head)
        }
      } while (this.#again && !this.deleted)
    } finally {
      this.#draining = false
    }
    if (this.#expiring) this.#armTtl()
  }

  /** Drops expired messages at the head (bounded per call; the timer picks up the rest). */
  #expireHead(): void {
    const store = this.store
    const now = Date.now()
    for (let n = 0; n < DRAIN_BUDGET; n++) {
      const head = store.peek()
      if (head === undefined || head.expiresAt === 0 || head.expiresAt > now) break
      this.#dispose(store.shift()!, 'expired')
    }
    this.#armTtl()
  }

  /** Starts (or restarts) the x-expires idle timer, unless consumers keep the queue in use. */
  #armIdle(): void {
    this.#idleTimer ??= new Deadline(() => {
      if (!this.deleted && this.consumers.size === 0) this.host.expire(this)
    })
    if (this.consumers.size === 0) this.#idleTimer.restart(this.config.expires)
  }

  #armTtl(): void {
    if (this.deleted) return
    const head = this.store.peek()
    if (head !== undefined && head.expiresAt !== 0) this.#ttlTimer.armAt(head.expiresAt)
  }
}
