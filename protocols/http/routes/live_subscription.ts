/**
 * A live SSE subscription: an exclusive, auto-delete, server-named queue bound to an exchange
 * for the life of one response, consumed without acknowledgements (live traffic is not
 * replayed; a reconnect starts a new subscription).
 *
 * A slow client never makes the broker buffer without bound: the stream's backpressure stops
 * the consumer (see SseStream), the messages wait in the queue, and the queue's x-max-length
 * drops the oldest beyond `queueLimit`, as an MQTT QoS 0 subscriber's queue would.
 *
 * @module
 */
import type { BrokerError, Connection, Delivery, Session, SessionEvents } from '../../../src/api.ts'
import { eventDataLine } from './message_json.ts'
import type { SseStream } from './sse_stream.ts'

export interface LiveOptions {
  exchange: string
  /** AMQP binding keys (MQTT filters already translated). */
  bindingKeys: readonly string[]
  /** x-max-length of the subscription queue. */
  queueLimit: number
  payloadEncoding: 'auto' | 'base64'
  /** The `topic` of a routing key (the app's MQTT topic mapping). */
  toTopic: (routingKey: string) => string
}

export class LiveSubscription implements SessionEvents {
  readonly connection: Connection
  readonly queue: string
  readonly #session: Session
  readonly #encoding: 'auto' | 'base64'
  readonly #opts: LiveOptions
  #stream: SseStream | undefined
  #closed = false

  /**
   * Declares, binds and consumes, unwritable until a stream attaches. Throws the core's
   * BrokerError (missing exchange, permissions) after closing `connection`.
   */
  constructor(connection: Connection, opts: LiveOptions) {
    this.connection = connection
    this.#opts = opts
    this.#encoding = opts.payloadEncoding
    this.#session = connection.openSession(this)
    try {
      this.#session.setWritable(false)
      this.queue = this.#session.declareQueue('', {
        exclusive: true,
        autoDelete: true,
        args: { 'x-max-length': opts.queueLimit },
      }).name
      for (const key of opts.bindingKeys) {
        this.#session.bind({ source: opts.exchange, destination: this.queue, destinationKind: 'queue', routingKey: key })
      }
      this.#session.consume(this.queue, { noAck: true, exclusive: true })
    } catch (error) {
      connection.close()
      throw error
    }
    connection.onForcedClose(() => this.#stream?.end())
  }

  /** Starts deliveries into `stream`, after an opening `stream` event naming the queue. */
  attach(stream: SseStream, retryMs: number): void {
    this.#stream = stream
    const about = { queue: this.queue, exchange: this.#opts.exchange, binding_keys: this.#opts.bindingKeys }
    stream.writeRaw(`retry: ${retryMs}\nevent: stream\ndata: ${JSON.stringify(about)}\n\n`)
    this.#session.setWritable(true)
  }

  setWritable(writable: boolean): void {
    if (!this.#closed) this.#session.setWritable(writable)
  }

  /** Closes the connection, which deletes the exclusive queue. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#stream?.end()
    this.#stream = undefined
    this.connection.close()
  }

  // ---- SessionEvents ----

  deliver(d: Delivery): void {
    // The data line is encoded once per message and shared by every subscriber.
    this.#stream?.pushEvent('', d.id, eventDataLine(d.message, false, this.#encoding, this.#opts.toTopic))
  }

  flush(): void {
    this.#stream?.flush()
  }

  settled(): void {}

  rejected(): void {}

  consumerCancelled(): void {
    // Someone deleted the subscription queue: end the response; the client may subscribe anew.
    this.#stream?.end()
  }

  closed(_error: BrokerError): void {
    this.#stream?.end()
  }
}
