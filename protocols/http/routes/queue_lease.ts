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
 * @module
 */
import type { BrokerError, Connection, Delivery, Session, SessionEvents } from '../../../src/api.ts'
import { eventData } from './message_json.ts'
import type { SseStream } from './sse_stream.ts'

export type AckMode = 'auto' | 'explicit'

export interface LeaseOptions {
  id: string
  queue: string
  mode: AckMode
  /** Most unconfirmed deliveries (the consumer prefetch); at least 1. */
  prefetch: number
  payloadEncoding: 'auto' | 'base64'
  /** How long the lease waits for a reconnect before requeueing and closing. */
  resumeTimeoutMs: number
  /** The lease closed (expiry, queue deleted, broker shutdown): forget it. */
  onClosed(lease: QueueLease): void
}

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
  /** Delivered and not yet settled, ascending; never longer than `prefetch`. */
  #outstanding: number[] = []
  /** The highest delivery id sent so far (0 before the first). */
  #lastDelivered = 0
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
    this.#session = connection.openSession(this)
    try {
      this.#session.setWritable(false)
      this.#session.setPrefetch(opts.prefetch, 'consumer')
      this.#session.consume(opts.queue, { noAck: false })
    } catch (error) {
      connection.close()
      throw error
    }
    connection.onForcedClose(() => this.close())
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
    // An id past the last delivery is not ours to trust: confirm nothing then.
    if (this.mode === 'auto' && lastEventN !== undefined && lastEventN <= this.#lastDelivered) this.confirm(lastEventN)
    if (this.#outstanding.length > 0) {
      this.#outstanding.length = 0
      this.#session.settle({ upTo: 0 }, 'requeue')
    }
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
    this.#session.settle({ upTo: out[count - 1]! }, 'ack')
    out.splice(0, count)
    return count
  }

  /** What the opening `stream` event tells the client. */
  describe(): { stream: string; queue: string; ack: AckMode; prefetch: number } {
    return { stream: this.id, queue: this.queue, ack: this.mode, prefetch: this.prefetch }
  }

  /** Requeues everything unconfirmed, ends the response and the connection. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#expiry !== undefined) clearTimeout(this.#expiry)
    this.#expiry = undefined
    this.#stream?.end()
    this.#stream = undefined
    this.connection.close()
    this.#opts.onClosed(this)
  }

  // ---- SessionEvents ----

  deliver(d: Delivery): void {
    this.#outstanding.push(d.id)
    this.#lastDelivered = d.id
    // Without a response the delivery just stays unacked; a reconnect requeues it.
    this.#stream?.push(`id: ${this.id}:${d.id}\ndata: ${eventData(d.message, d.redelivered, this.#opts.payloadEncoding)}\n\n`)
  }

  flush(): void {
    const stream = this.#stream
    if (stream === undefined) return
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

  closed(_error: BrokerError): void {
    queueMicrotask(() => this.close())
  }
}
