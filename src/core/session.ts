/**
 * api.Session: one AMQP channel / MQTT connection / SSE stream. Owns its consumers, the
 * unacked deliveries (by id, in delivery order), prefetch limits, flow and writability gates,
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
import type { CoreConnection } from './connection.ts'
import { Consumer, type ConsumerSession } from './consumer.ts'
import { CoreDelivery } from './delivery.ts'
import { REPLY_QUEUE, type ReplyTarget } from './direct_reply.ts'
import { accessRefused, brokerError, preconditionFailed, rs } from './errors.ts'
import { generatedName } from './names.ts'
import { publish } from './publish.ts'
import type { PersistWaiter, Queue } from './queue.ts'
import { consumeArgs } from './queue_args.ts'
import type { FlushTarget } from './scheduler.ts'
import * as topology from './topology.ts'

export class CoreSession implements Session, ConsumerSession, FlushTarget, PersistWaiter, ReplyTarget {
  readonly connection: CoreConnection
  readonly events: SessionEvents
  /** Unacked deliveries by id; Map order is delivery order. */
  readonly unacked = new Map<number, CoreDelivery>()
  readonly consumers = new Map<string, Consumer>()
  deliverable = true
  globalPrefetch = 0
  consumerUnacked = 0
  flushQueued = false
  closed = false

  #nextId = 1
  #consumerPrefetch = 0
  #writable = true
  #flow = true
  #confirms: number[] = []
  #rejects: number[] = []
  #confirmsSorted = true
  /** confirmId → queues still persisting it (durable stores only). */
  #pending: Map<number, { left: number; rejected: boolean }> | undefined
  #reply: { tag: string; token: string } | undefined
  #routeBuffer: Queue[] | undefined = []

  constructor(connection: CoreConnection, events: SessionEvents) {
    this.connection = connection
    this.events = events
  }

  get unackedCount(): number {
    return this.unacked.size
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
    return publish(this, message, opts)
  }

  consume(queue: string, opts: ConsumeOptions): string {
    const tag = opts.tag === undefined || opts.tag === '' ? generatedName('amq.ctag') : opts.tag
    if (this.consumers.has(tag) || this.#reply?.tag === tag) {
      throw brokerError('not-allowed', `attempt to reuse consumer tag '${tag}'`)
    }
    if (queue === REPLY_QUEUE) return this.#consumeReplies(tag, opts.noAck)
    const conn = this.connection
    conn.access.check('read', 'queue', queue)
    const q = topology.findQueue(conn, queue)
    const { priority } = consumeArgs(opts.args, queue, conn.vhost)
    if (q.consumers.hasExclusive() || (opts.exclusive === true && q.consumerCount > 0)) {
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
    const conn = this.connection
    conn.access.check('read', 'queue', queue)
    const q = topology.findQueue(conn, queue)
    const entry = q.take()
    if (entry === undefined) return null
    const delivery = new CoreDelivery(this.#nextId++, '', q, entry, null)
    if (opts.noAck) q.ack(entry)
    else this.unacked.set(delivery.id, delivery)
    return { delivery, remaining: q.messageCount }
  }

  settle(ids: number | { upTo: number }, op: 'ack' | 'requeue' | 'reject'): void {
    if (typeof ids === 'number') {
      const d = this.unacked.get(ids)
      if (d === undefined) throw preconditionFailed(`unknown delivery tag ${ids}`)
      this.unacked.delete(ids)
      this.#settleOne(d, op)
      this.#creditReturned(d.source)
      return
    }
    const upTo = ids.upTo
    // basic.ack multiple=true with an unknown tag fails like a single one (rabbit_channel:collect_acks/5).
    if (upTo !== 0 && !this.unacked.has(upTo)) throw preconditionFailed(`unknown delivery tag ${upTo}`)
    const queues = new Set<Queue>()
    for (const [id, d] of this.unacked) {
      if (upTo !== 0 && id > upTo) break
      this.unacked.delete(id)
      this.#settleOne(d, op)
      queues.add(d.source)
    }
    for (const q of queues) this.#creditReturned(q)
  }

  recover(): void {
    this.settle({ upTo: 0 }, 'requeue')
  }

  setPrefetch(count: number, scope: 'consumer' | 'session'): void {
    if (scope === 'consumer') this.#consumerPrefetch = count
    else this.globalPrefetch = count
    this.#kickAll()
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
    const queues = new Set<Queue>()
    for (const d of this.unacked.values()) {
      d.source.requeue(d.entry)
      queues.add(d.source)
    }
    this.unacked.clear()
    this.consumerUnacked = 0
    const consumers = [...this.consumers.values()]
    this.consumers.clear()
    for (const consumer of consumers) {
      queues.add(consumer.queue)
      consumer.queue.removeConsumer(consumer)
    }
    this.#confirms = []
    this.#rejects = []
    this.#pending = undefined
    this.connection.sessions.delete(this)
    for (const q of queues) if (!q.deleted) q.drain()
  }

  // ---- ConsumerSession / ReplyTarget / PersistWaiter / FlushTarget ----

  deliverFromQueue(consumer: Consumer, queue: Queue, entry: StoredMessage): void {
    const delivery = new CoreDelivery(this.#nextId++, consumer.tag, queue, entry, consumer)
    if (consumer.noAck) {
      queue.ack(entry)
    } else {
      this.unacked.set(delivery.id, delivery)
      consumer.unacked++
      this.consumerUnacked++
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

  /** Rewrites reply-to "amq.rabbitmq.reply-to" to this session's reply address. */
  withReplyAddress(message: Message): Message {
    const reply = this.#reply
    if (reply === undefined) throw preconditionFailed('fast reply consumer does not exist')
    const properties = { ...message.properties, replyTo: `${REPLY_QUEUE}.${reply.token}` }
    return { exchange: message.exchange, routingKey: message.routingKey, properties, body: message.body }
  }

  /** Records a publisher confirm outcome; `pending` queues still have to persist it. */
  confirm(id: number, rejected: boolean, pending: number): void {
    if (pending > 0) {
      this.#pending ??= new Map()
      this.#pending.set(id, { left: pending, rejected })
      return
    }
    const list = rejected ? this.#rejects : this.#confirms
    if (list.length > 0 && list[list.length - 1]! > id) this.#confirmsSorted = false
    list.push(id)
    this.connection.scheduler.mark(this)
  }

  persisted(confirmId: number): void {
    const p = this.#pending?.get(confirmId)
    if (p === undefined || --p.left > 0) return
    this.#pending!.delete(confirmId)
    this.confirm(confirmId, p.rejected, 0)
  }

  flushNow(): void {
    if (this.closed) return
    const events = this.events
    if (!this.#confirmsSorted) {
      this.#confirms.sort((a, b) => a - b)
      this.#rejects.sort((a, b) => a - b)
      this.#confirmsSorted = true
    }
    if (this.#confirms.length > 0) {
      const ids = this.#confirms
      this.#confirms = []
      events.settled(ids)
    }
    if (this.#rejects.length > 0) {
      const ids = this.#rejects
      this.#rejects = []
      events.rejected(ids)
    }
    events.flush()
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

  #consumeReplies(tag: string, noAck: boolean): string {
    if (!noAck) throw preconditionFailed('reply consumer cannot acknowledge')
    if (this.#reply !== undefined) throw preconditionFailed('reply consumer already set')
    this.#reply = { tag, token: this.connection.directReply.register(this) }
    return tag
  }

  #settleOne(d: CoreDelivery, op: 'ack' | 'requeue' | 'reject'): void {
    const consumer = d.consumer
    if (consumer !== null) {
      consumer.unacked--
      this.consumerUnacked--
    }
    if (op === 'ack') d.source.ack(d.entry)
    else if (op === 'requeue') d.source.requeue(d.entry)
    else d.source.reject(d.entry)
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
