/**
 * api.Session: one AMQP channel / MQTT connection / SSE stream. Owns its consumers, the
 * unacked deliveries, prefetch limits, flow and writability gates,
 * and the publisher confirms it batches until the end of the burst.
 *
 * @module
 */
import type {
  Binding,
  ConsumeOptions,
  DeclareOptions,
  Delivery,
  Message,
  PublishOptions,
  PublishResult,
  QueueInfo,
  Session,
  SessionEvents,
} from '../api.ts'
import type { StoredMessage } from '../store/store.ts'
import { ConfirmBatch, type PersistWaiter } from './confirms.ts'
import type { CoreConnection } from './connection.ts'
import { Consumer, type ConsumerSession } from './consumer.ts'
import { CoreDelivery } from './delivery.ts'
import { REPLY_QUEUE, type ReplyConsumer, type ReplyTarget } from './direct_reply.ts'
import { accessRefused, brokerError, rs } from './errors.ts'
import { generatedName } from './names.ts'
import { publish } from './publish.ts'
import type { Queue } from './queue.ts'
import { consumeArgs } from './queue_args.ts'
import { type SettleOp, Unacked } from './unacked.ts'
import type { FlushTarget } from './scheduler.ts'
import * as topology from './topology.ts'

export class CoreSession implements Session, ConsumerSession, FlushTarget, PersistWaiter, ReplyTarget {
  readonly connection: CoreConnection
  readonly events: SessionEvents
  readonly consumers = new Map<string, Consumer>()
  deliverable = true
  globalPrefetch = 0
  flushQueued = false
  closed = false
  /** The management API's session (channel) number within the connection. */
  readonly number: number

  #nextId = 1
  #unacked = new Unacked()
  #consumerPrefetch = 0
  #writable = true
  #flow = true
  #confirms = new ConfirmBatch()
  #reply: ReplyConsumer | undefined
  #routeBuffer: Queue[] | undefined = []

  constructor(connection: CoreConnection, events: SessionEvents) {
    this.connection = connection
    this.events = events
    this.number = connection.nextSessionNumber()
  }

  /** The prefetch new consumers of this session get (setPrefetch 'consumer'). */
  get consumerPrefetch(): number {
    return this.#consumerPrefetch
  }

  get unackedCount(): number {
    return this.#unacked.size
  }

  get consumerUnacked(): number {
    return this.#unacked.consumerCount
  }

  declareExchange(name: string, type: string, opts?: DeclareOptions & { internal?: boolean }): void {
    topology.declareExchange(this.connection, name, type, opts)
  }

  deleteExchange(name: string, opts?: { ifUnused?: boolean }): void {
    topology.deleteExchange(this.connection, name, opts)
  }

  declareQueue(name: string, opts?: DeclareOptions & { exclusive?: boolean }): QueueInfo {
    return topology.declareQueue(this.connection, name, opts)
  }

  deleteQueue(name: string, opts?: { ifUnused?: boolean; ifEmpty?: boolean }): number {
    return topology.deleteQueue(this.connection, name, opts)
  }

  purgeQueue(name: string): number {
    return topology.purgeQueue(this.connection, name)
  }

  bind(binding: Binding): void {
    topology.bind(this.connection, binding)
  }

  unbind(binding: Binding): void {
    topology.unbind(this.connection, binding)
  }

  publish(message: Message, opts?: PublishOptions): PublishResult {
    if (this.closed) throw new TypeError('Cannot publish: the session is closed')
    if (opts?.mandatory !== true) return publish(this, message, opts)
    // A mandatory publish counted as unroutable is one the adapter returns (return_unroutable).
    const stats = this.connection.vhostState.stats
    const unroutable = stats.unroutable
    const result = publish(this, message, opts)
    if (result === 'unroutable' && stats.unroutable !== unroutable) stats.returned++
    return result
  }

  consume(queue: string, opts: ConsumeOptions): string {
    if (this.closed) throw new TypeError(`Cannot consume from "${queue}": the session is closed`)
    const tag = opts.tag === undefined || opts.tag === '' ? generatedName('amq.ctag') : opts.tag
    if (this.consumers.has(tag) || this.#reply?.tag === tag) {
      throw brokerError('not-allowed', `attempt to reuse consumer tag '${tag}'`)
    }
    if (queue === REPLY_QUEUE) {
      this.#reply = this.connection.directReply.open(this, tag, opts.noAck, this.#reply)
      return tag
    }
    const conn = this.connection
    conn.access.check('read', 'queue', queue)
    const q = topology.findQueue(conn, queue)
    const { priority } = consumeArgs(opts.args, queue, conn.vhost, q.config.type)
    if (q.consumers.hasExclusive() || (opts.exclusive === true && q.consumers.size > 0)) {
      throw accessRefused(`${rs('queue', queue, conn.vhost)} in exclusive use`)
    }
    const consumer = new Consumer(q, this, {
      tag,
      noAck: opts.noAck,
      prefetch: opts.prefetch ?? this.#consumerPrefetch,
      priority,
      exclusive: opts.exclusive === true,
    })
    this.consumers.set(tag, consumer)
    q.addConsumer(consumer)
    return tag
  }

  cancel(tag: string): boolean {
    if (this.#reply?.tag === tag) {
      this.connection.directReply.unregister(this.#reply.token)
      this.#reply = undefined
      return true
    }
    const consumer = this.consumers.get(tag)
    if (consumer === undefined) return false
    this.consumers.delete(tag)
    consumer.queue.removeConsumer(consumer)
    return true
  }

  get(queue: string, opts: { noAck: boolean }): { delivery: Delivery; remaining: number } | null {
    if (this.closed) throw new TypeError(`Cannot get from "${queue}": the session is closed`)
    const conn = this.connection
    conn.access.check('read', 'queue', queue)
    const q = topology.findQueue(conn, queue)
    const entry = q.take()
    const vstats = conn.vhostState.stats
    if (entry === undefined) {
      q.stats.getEmpty++
      vstats.getEmpty++
      return null
    }
    const delivery = new CoreDelivery(this.#nextId++, '', q, entry, null)
    if (opts.noAck) {
      q.ack(entry)
      q.stats.getNoAck++
      vstats.getNoAck++
    } else {
      this.#unacked.add(delivery)
      q.stats.get++
      vstats.get++
    }
    if (entry.deliveryCount > 0) {
      q.stats.redeliver++
      vstats.redeliver++
    }
    return { delivery, remaining: q.store.readyCount }
  }

  settle(ids: number | { upTo: number }, op: SettleOp): void {
    if (typeof ids === 'number') this.#creditReturned(this.#unacked.settleOne(ids, op))
    else for (const q of this.#unacked.settleUpTo(ids.upTo, op)) this.#creditReturned(q)
  }

  recover(): void {
    this.settle({ upTo: 0 }, 'requeue')
  }

  setPrefetch(count: number, scope: 'consumer' | 'session'): void {
    if (scope === 'consumer') this.#consumerPrefetch = count
    else this.globalPrefetch = count
    // Deferred, so the adapter can confirm the change to its client before deliveries follow.
    for (const consumer of this.consumers.values()) consumer.queue.scheduleDrain()
  }

  setWritable(writable: boolean): void {
    this.#writable = writable
    this.#updateDeliverable()
  }

  setFlow(active: boolean): void {
    this.#flow = active
    this.#updateDeliverable()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.deliverable = false
    if (this.#reply !== undefined) this.connection.directReply.unregister(this.#reply.token)
    this.#reply = undefined
    // Requeue first: an auto-delete queue emptied of consumers below then drops them anyway.
    const queues = this.#unacked.settleUpTo(0, 'requeue')
    const consumers = [...this.consumers.values()]
    this.consumers.clear()
    for (const consumer of consumers) {
      queues.add(consumer.queue)
      consumer.queue.removeConsumer(consumer)
    }
    this.#confirms.clear()
    this.connection.sessions.delete(this)
    for (const q of queues) if (!q.deleted) q.drain()
  }

  // ---- ConsumerSession / ReplyTarget / PersistWaiter / FlushTarget ----

  deliverFromQueue(consumer: Consumer, queue: Queue, entry: StoredMessage): void {
    const delivery = new CoreDelivery(this.#nextId++, consumer.tag, queue, entry, consumer)
    const qstats = queue.stats
    const vstats = this.connection.vhostState.stats
    if (consumer.noAck) {
      queue.ack(entry)
      qstats.deliverNoAck++
      vstats.deliverNoAck++
    } else {
      this.#unacked.add(delivery)
      qstats.deliver++
      vstats.deliver++
    }
    if (entry.deliveryCount > 0) {
      qstats.redeliver++
      vstats.redeliver++
    }
    this.events.deliver(delivery)
    this.connection.scheduler.mark(this)
  }

  consumerCancelled(consumer: Consumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return
    this.consumers.delete(consumer.tag)
    if (this.closed) return
    this.events.consumerCancelled(consumer.tag)
    this.connection.scheduler.mark(this)
  }

  /** A message for this session's reply consumer; no queue, no ack, no prefetch. */
  deliverReply(message: Message): void {
    const reply = this.#reply
    if (reply === undefined || this.closed) return
    this.events.deliver({
      id: this.#nextId++,
      consumerTag: reply.tag,
      queue: REPLY_QUEUE,
      message,
      redelivered: false,
      deliveryCount: 0,
    })
    this.connection.scheduler.mark(this)
  }

  /** The direct reply-to consumer of this session, if any. */
  get replyConsumer(): ReplyConsumer | undefined {
    return this.#reply
  }

  /** Records a publisher confirm outcome; `pending` queues still have to persist it. */
  confirm(id: number, rejected: boolean, pending: number): void {
    if (this.#confirms.add(id, rejected, pending)) this.connection.scheduler.mark(this)
  }

  persisted(confirmId: number): void {
    if (this.#confirms.persisted(confirmId)) this.connection.scheduler.mark(this)
  }

  flushNow(): void {
    if (this.closed) return
    this.#confirms.emit(this.events)
    this.events.flush()
  }

  /** The routing scratch array; a fresh one when publish re-enters through an adapter. */
  borrowRouteBuffer(): Queue[] {
    const buffer = this.#routeBuffer
    if (buffer === undefined) return []
    this.#routeBuffer = undefined
    return buffer
  }

  returnRouteBuffer(buffer: Queue[]): void {
    buffer.length = 0
    this.#routeBuffer = buffer
  }

  /** After settling: the queue may deliver again; with a session-wide prefetch, every queue may. */
  #creditReturned(q: Queue): void {
    if (this.globalPrefetch !== 0) this.#kickAll()
    else q.drain()
  }

  #updateDeliverable(): void {
    const deliverable = !this.closed && this.#writable && this.#flow
    if (deliverable === this.deliverable) return
    this.deliverable = deliverable
    if (deliverable) this.#kickAll()
  }

  #kickAll(): void {
    for (const consumer of this.consumers.values()) consumer.queue.drain()
  }
}
