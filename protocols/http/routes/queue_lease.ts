/**
 * A queue consumer over SSE that outlives its HTTP responses (the "lease"): one core connection
 * and session consuming the queue with manual acknowledgements, attached to at most one SSE
 * response at a time. A browser's EventSource reconnects with Last-Event-ID; the id names the
 * lease and the last delivery it received, so the new response re-attaches to the same session
 * and its unconfirmed deliveries come back (redelivered) instead of waiting for a timeout.
 *
 * Event ids are `<lease>:<delivery id>`. Delivery ids are the session's, strictly increasing for
 * the lease's whole life, so "everything up to id N" means the same across reconnects.
 *
 * Confirmation (see README "Consuming a queue over SSE"):
 * - `ack=auto`: reconnecting with Last-Event-ID `L:N` confirms every delivery up to N; when the
 *   window of `prefetch` unconfirmed deliveries is full the server ends the response, and the
 *   EventSource's reconnect (after the `retry` the stream announced) confirms what it received.
 * - `ack=explicit`: only `POST …/ack {"up_to": "L:N"}` confirms; a full window waits for it.
 * - In both modes `POST …/ack` works, a reconnect requeues what is still unconfirmed (it comes
 *   back redelivered, under new ids), and a lease with no response for `resumeTimeoutMs` closes,
 *   requeueing everything unconfirmed.
 *
 * The lease keeps a durable record (stream_records.ts) so it survives a broker restart: resumed
 * from it, numbering continues above the old ids and, in auto mode, the messages the client's
 * Last-Event-ID confirms are acknowledged without being sent when the restart brings them back.
 *
 * @module
 */
import type { BrokerError, Connection, Delivery, Session, SessionEvents } from '../../../src/api.ts'
import { eventData } from './message_json.ts'
import type { SseStream } from './sse_stream.ts'
import { ID_RESERVE, type StreamRecord, type StreamRecords } from './stream_records.ts'

export type AckMode = 'auto' | 'explicit'

export interface LeaseOptions {
  id: string
  queue: string
  mode: AckMode
  /** Most unconfirmed deliveries (the consumer prefetch); at least 1. */
  prefetch: number
  payloadEncoding: 'auto' | 'base64'
  /** The `topic` of a routing key (the app's MQTT topic mapping); default: the escaping one. */
  toTopic?: (routingKey: string) => string
  /** How long the lease waits for a reconnect before requeueing and closing. */
  resumeTimeoutMs: number
  /** The lease closed (expiry, queue deleted, broker shutdown): forget it. */
  onClosed(lease: QueueLease): void
  /** Where the lease's durable record goes. */
  records: StreamRecords
  /** The record of the stream this lease resumes (after a restart or a forced close). */
  resumed?: StreamRecord
}

/** Confirmed durable keys a stream keeps waiting for, at most this many times its prefetch. */
const SKIP_LIMIT_FACTOR = 4

/** Splits an event id `<lease>:<n>`; undefined when it is not one of ours. */
export function parseEventId(id: string | undefined): { lease: string; n: number } | undefined {
  if (id === undefined) return undefined
  const colon = id.lastIndexOf(':')
  if (colon <= 0) return undefined
  const digits = id.slice(colon + 1)
  if (!/^\d{1,15}$/.test(digits)) return undefined
  return { lease: id.slice(0, colon), n: Number(digits) }
}

export class QueueLease implements SessionEvents {
  readonly id: string
  readonly queue: string
  readonly mode: AckMode
  readonly prefetch: number
  readonly connection: Connection
  readonly #session: Session
  readonly #opts: LeaseOptions
  #stream: SseStream | undefined
  /** Event numbers delivered and not yet settled, ascending; never longer than `prefetch`. */
  #outstanding: number[] = []
  /** Durable key of each outstanding delivery (undefined: its message would not survive a restart). */
  #outstandingKeys: (number | undefined)[] = []
  /** Event number = base + the session's delivery id: a resumed stream numbers above its old ids. */
  readonly #base: number
  /** The highest event number sent so far (`#base` before the first). */
  #lastDelivered: number
  /** The resumed record's unconfirmed deliveries, until the first attach decides their fate. */
  #resumedOut: [number, number][]
  /** Durable keys the client confirmed before a restart: acked unseen when they come back. */
  readonly #skip: Set<number>
  /** Deliveries being acked unseen (delivery id, key), settled after the core's call returns. */
  #skipped: [number, number][] = []
  /** The durable record no longer says what the lease holds. */
  #dirty = true
  /** `#lastDelivered` as last saved. */
  #savedLast = -1
  #expiry: ReturnType<typeof setTimeout> | undefined
  #closed = false

  /**
   * Opens the session and starts consuming, unwritable until a stream attaches. Throws the
   * core's BrokerError (no queue, no read permission, exclusive use) after closing `connection`.
   */
  constructor(connection: Connection, opts: LeaseOptions) {
    this.id = opts.id
    this.queue = opts.queue
    this.mode = opts.mode
    this.prefetch = opts.prefetch
    this.connection = connection
    this.#opts = opts
    const resumed = opts.resumed
    this.#base = resumed === undefined ? 0 : resumed.last + ID_RESERVE
    this.#lastDelivered = this.#base
    this.#resumedOut = resumed?.out ?? []
    this.#skip = new Set(resumed?.skip)
    this.#session = connection.openSession(this)
    try {
      this.#session.setWritable(false)
      this.#session.setPrefetch(opts.prefetch, 'consumer')
      this.#session.consume(opts.queue, { noAck: false })
    } catch (error) {
      connection.close()
      throw error
    }
    // The broker closed it (shutdown, management): the client may still resume the stream.
    connection.onForcedClose(() => this.close(false))
  }

  get isClosed(): boolean {
    return this.#closed
  }

  /** The id a fresh response announces: every delivery up to it is settled or requeued. */
  get resumeId(): string {
    return `${this.id}:${this.#lastDelivered}`
  }

  /**
   * Attaches a response. `lastEventN` is the N of the client's Last-Event-ID (auto mode confirms
   * up to it); everything still unconfirmed after that is requeued so it comes again, redelivered.
   * A response still attached (its client has not been noticed gone yet) is ended: the newest wins.
   */
  attach(stream: SseStream, lastEventN: number | undefined): void {
    if (this.#expiry !== undefined) clearTimeout(this.#expiry)
    this.#expiry = undefined
    const previous = this.#stream
    this.#stream = stream
    this.#session.setWritable(false)
    previous?.end()
    if (this.#resumedOut.length > 0) {
      // A resumed stream's old window: in auto mode the Last-Event-ID confirms part of it; the
      // rest comes again (redelivered), as a reconnect requeues. Later the old ids mean nothing.
      if (this.mode === 'auto' && lastEventN !== undefined && lastEventN < this.#base) this.#confirmResumed(lastEventN)
      this.#resumedOut = []
      this.#dirty = true
    }
    // An id past the last delivery is not ours to trust: confirm nothing then.
    if (this.mode === 'auto' && lastEventN !== undefined && lastEventN <= this.#lastDelivered) this.confirm(lastEventN)
    if (this.#outstanding.length > 0) {
      this.#outstanding.length = 0
      this.#outstandingKeys.length = 0
      this.#session.settle({ upTo: 0 }, 'requeue')
      this.#dirty = true
    }
    this.#save()
    stream.writeRaw(`id: ${this.resumeId}\nevent: stream\ndata: ${JSON.stringify(this.describe())}\n\n`)
    this.#session.setWritable(true)
  }

  /** The response ended. Deliveries stop; unconfirmed ones wait `resumeTimeoutMs` for a reconnect. */
  detach(stream: SseStream): void {
    if (this.#stream !== stream || this.#closed) return
    this.#stream = undefined
    this.#session.setWritable(false)
    this.#expiry = setTimeout(() => this.close(), this.#opts.resumeTimeoutMs)
  }

  /** The SSE stream's backpressure. Only the attached response may resume deliveries. */
  setWritable(stream: SseStream, writable: boolean): void {
    if (this.#stream === stream && !this.#closed) this.#session.setWritable(writable)
  }

  /**
   * Acknowledges every outstanding delivery with id <= n; returns how many. Throws RangeError
   * for an id this lease never sent.
   */
  confirm(n: number): number {
    if (n > this.#lastDelivered) throw new RangeError(`unknown delivery id ${n}`)
    const out = this.#outstanding
    let count = 0
    while (count < out.length && out[count]! <= n) count++
    if (count === 0) return 0
    this.#session.settle({ upTo: out[count - 1]! - this.#base }, 'ack')
    out.splice(0, count)
    this.#outstandingKeys.splice(0, count)
    this.#dirty = true
    this.#save()
    return count
  }

  /**
   * Deliveries from before the restart up to `n` were received: their messages are acked when
   * they come back.
   */
  #confirmResumed(n: number): void {
    for (const [old, key] of this.#resumedOut) if (old <= n) this.#skip.add(key)
    const limit = SKIP_LIMIT_FACTOR * this.prefetch
    if (this.#skip.size > limit) {
      // Keys that never come back (another consumer took them) must not pile up: drop the oldest.
      const keys = [...this.#skip].sort((a, b) => a - b)
      for (const key of keys.slice(0, keys.length - limit)) this.#skip.delete(key)
    }
  }

  /** What the opening `stream` event tells the client. */
  describe(): { stream: string; queue: string; ack: AckMode; prefetch: number } {
    return { stream: this.id, queue: this.queue, ack: this.mode, prefetch: this.prefetch }
  }

  /**
   * Requeues everything unconfirmed, ends the response and the connection. Idempotent.
   * `forget` false (the broker closed it) keeps the durable record so the client can resume.
   */
  close(forget = true): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#expiry !== undefined) clearTimeout(this.#expiry)
    this.#expiry = undefined
    if (forget) this.#opts.records.forget(this.id)
    else this.#opts.records.retire(this.#record())
    this.#stream?.end()
    this.#stream = undefined
    this.connection.close()
    this.#opts.onClosed(this)
  }

  /** Writes the durable record when it changed; before the events it covers go out. */
  #save(): void {
    // Without changes worth a write, ids still must not outrun the saved `last` by the reserve.
    if (!this.#dirty && this.#lastDelivered - this.#savedLast < ID_RESERVE / 2) return
    this.#dirty = false
    this.#savedLast = this.#lastDelivered
    this.#opts.records.save(this.#record())
  }

  #record(): StreamRecord {
    const out: [number, number][] = [...this.#resumedOut]
    for (let i = 0; i < this.#outstanding.length; i++) {
      const key = this.#outstandingKeys[i]
      if (key !== undefined) out.push([this.#outstanding[i]!, key])
    }
    const conn = this.connection
    return {
      id: this.id,
      user: conn.user.name,
      vhost: conn.vhost,
      queue: this.queue,
      ack: this.mode,
      prefetch: this.prefetch,
      enc: this.#opts.payloadEncoding,
      last: this.#lastDelivered,
      out,
      skip: [...this.#skip],
    }
  }

  /** Acks the deliveries skipped in the last burst (outside the core's call). */
  #settleSkipped(): void {
    const skipped = this.#skipped
    this.#skipped = []
    if (this.#closed) return
    for (const [id, key] of skipped) {
      this.#session.settle(id, 'ack')
      this.#skip.delete(key)
    }
    this.#dirty = true
    this.#save()
  }

  // ---- SessionEvents ----

  deliver(d: Delivery): void {
    if (this.#skip.size > 0 && d.redelivered) {
      const key = d.durableKey
      if (key !== undefined && this.#skip.has(key)) {
        if (this.#skipped.length === 0) queueMicrotask(() => this.#settleSkipped())
        this.#skipped.push([d.id, key])
        return
      }
    }
    const n = this.#base + d.id
    const key = d.durableKey
    this.#outstanding.push(n)
    this.#outstandingKeys.push(key)
    this.#lastDelivered = n
    if (key !== undefined) this.#dirty = true
    // Without a response the delivery just stays unacked; a reconnect requeues it.
    this.#stream?.push(`id: ${this.id}:${n}\ndata: ${eventData(d.message, d.redelivered, this.#opts.payloadEncoding, this.#opts.toTopic)}\n\n`)
  }

  flush(): void {
    const stream = this.#stream
    if (stream === undefined) return
    this.#save()
    stream.flush()
    // A full window cannot move until the client confirms; in auto mode its reconnect does that.
    if (this.mode === 'auto' && this.#outstanding.length >= this.prefetch) stream.end()
  }

  settled(): void {}

  rejected(): void {}

  consumerCancelled(): void {
    // The queue was deleted: nothing more will come. Closed after the core's call returns.
    queueMicrotask(() => this.close())
  }

  closed(error: BrokerError): void {
    queueMicrotask(() => this.close(error.code !== 'connection-forced'))
  }
}
