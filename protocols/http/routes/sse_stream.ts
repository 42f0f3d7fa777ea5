/**
 * One open Server-Sent Events response: batches event bytes per delivery burst into one chunk,
 * turns the response body's backpressure into the core session's writability, and writes
 * heartbeat comments. Shared by live subscriptions (sse.ts) and queue consumers (sse_queue.ts).
 *
 * The body is a plain ReadableStream of Uint8Array chunks that this class enqueues into
 * directly (no TextEncoder per batch, no TransformStream hop): every runtime's server reads it
 * as it reads any streamed body, and stops reading while the socket is full.
 *
 * Memory per stream is bounded twice: a burst stops once the batch holds `maxBatchEvents`
 * events (the session is made unwritable from inside `push`), and while the body holds
 * `QUEUED_CHUNKS` chunks the response has not taken yet the session stays unwritable, so the
 * core keeps the rest in the queue (whose own limits apply) instead of here.
 *
 * @module
 */

import type { Context, Env } from 'hono'

const utf8 = new TextEncoder()
/** The heartbeat comment: proxies see traffic, EventSource ignores it. */
const PING = utf8.encode(': ping\n\n')
const ID = utf8.encode('id: ')
const EMPTY = new Uint8Array(0)
/** Chunks the body may hold untaken before the session is stopped (the body's high-water mark). */
const QUEUED_CHUNKS = 2
/** Smallest batch buffer allocated. */
const MIN_BUFFER = 1024

export interface SseStreamOptions {
  /** Called with false to stop the session's deliveries and true to resume them. */
  onWritable(writable: boolean): void
  /** Events per batch after which the burst is cut short (the session becomes unwritable). */
  maxBatchEvents: number
}

export class SseStream {
  /** The response body: hand it to `new Response` (or hono's `c.newResponse`). */
  readonly body: ReadableStream<Uint8Array>
  #controller!: ReadableStreamDefaultController<Uint8Array>
  readonly #onWritable: (writable: boolean) => void
  readonly #maxBatchEvents: number
  /** The batch being built: bytes [0, #len) of #buf; handed to the body whole at flush. */
  #buf: Uint8Array = EMPTY
  #len = 0
  /** Size of the last batch: the next buffer's first guess. */
  #lastLen = MIN_BUFFER
  #batchEvents = 0
  /** Whether this stream told the session to stop. */
  #blocked = false
  #ended = false
  #resolveDone!: () => void
  /** Settles once the client went away or `end` was called: the route awaits it. */
  readonly done: Promise<void>

  constructor(opts: SseStreamOptions) {
    this.#onWritable = opts.onWritable
    this.#maxBatchEvents = opts.maxBatchEvents
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve
    })
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller
        },
        // Called whenever the body has room again (the response took a chunk).
        pull: () => this.#drained(),
        // The client went away (every runtime's server cancels the body then).
        cancel: () => this.#finish(),
      },
      { highWaterMark: QUEUED_CHUNKS },
    )
  }

  /** True once the client went away or the server ended the stream. */
  get ended(): boolean {
    return this.#ended
  }

  /**
   * Adds one complete event (ending in a blank line) to the current batch: `text` and then
   * `data` (already encoded, e.g. a message's `data:` line shared by every stream). Called from
   * the core's deliver callback: must not await; may make the session unwritable to end the burst.
   */
  push(text: string, data?: Uint8Array): void {
    if (this.#ended) return
    const need = text.length * 3 + (data === undefined ? 0 : data.length)
    if (this.#len + need > this.#buf.length) this.#grow(need)
    this.#putText(text)
    if (data !== undefined) this.#putBytes(data)
    if (++this.#batchEvents >= this.#maxBatchEvents) this.#block()
  }

  /**
   * Adds the event `id: <idPrefix><n>\n` followed by `data` (an encoded `data: …\n\n`): the hot
   * path of a fan-out, building no string per delivery.
   */
  pushEvent(idPrefix: string, n: number, data: Uint8Array): void {
    if (this.#ended) return
    // "id: " + prefix + up to 16 digits + "\n"
    const need = 21 + idPrefix.length * 3 + data.length
    if (this.#len + need > this.#buf.length) this.#grow(need)
    this.#putBytes(ID)
    if (idPrefix.length > 0) this.#putText(idPrefix)
    const buf = this.#buf
    let len = this.#len
    if (Number.isSafeInteger(n) && n >= 0) {
      const first = len
      do {
        const q = Math.floor(n / 10)
        buf[len++] = 48 + n - q * 10
        n = q
      } while (n > 0)
      for (let i = first, j = len - 1; i < j; i++, j--) {
        const t = buf[i]!
        buf[i] = buf[j]!
        buf[j] = t
      }
      buf[len++] = 10
      this.#len = len
    } else {
      this.#putText(`${n}\n`)
    }
    this.#putBytes(data)
    if (++this.#batchEvents >= this.#maxBatchEvents) this.#block()
  }

  /** Writes the batch as one chunk (the core's end of burst). */
  flush(): void {
    if (this.#batchEvents === 0 || this.#ended) return
    const chunk = this.#buf.subarray(0, this.#len)
    this.#lastLen = this.#len
    // The chunk is handed over, not copied: the next batch starts in a fresh buffer.
    this.#buf = EMPTY
    this.#len = 0
    this.#batchEvents = 0
    this.#write(chunk)
  }

  /** Writes text outside the delivery path (the opening `retry:` and `stream` event). */
  writeRaw(text: string): void {
    if (!this.#ended) this.#write(utf8.encode(text))
  }

  /** A heartbeat comment, skipped while data is still waiting to go out (that traffic suffices). */
  heartbeat(): void {
    if (!this.#ended && (this.#controller.desiredSize ?? 0) >= QUEUED_CHUNKS) this.#write(PING)
  }

  /** Ends the response after what was already written; the client's EventSource reconnects. */
  end(): void {
    if (this.#ended) return
    this.flush()
    try {
      this.#controller.close()
    } catch {
      // Already closed or errored by the runtime: nothing left to end.
    }
    this.#finish()
  }

  #write(chunk: Uint8Array): void {
    try {
      this.#controller.enqueue(chunk)
    } catch {
      // The body was cancelled under us; the cancel callback ends the stream.
      this.#finish()
      return
    }
    // The body holds QUEUED_CHUNKS chunks the response has not taken: the client reads slower
    // than we produce.
    if ((this.#controller.desiredSize ?? 0) <= 0) this.#block()
  }

  #drained(): void {
    if (this.#blocked && !this.#ended && (this.#controller.desiredSize ?? 0) > 0) {
      this.#blocked = false
      this.#onWritable(true)
    }
  }

  #grow(need: number): void {
    const size = Math.max(MIN_BUFFER, this.#lastLen + (this.#lastLen >> 2), this.#len + need, this.#buf.length * 2)
    const buf = new Uint8Array(size)
    if (this.#len > 0) buf.set(this.#buf.subarray(0, this.#len))
    this.#buf = buf
  }

  /** Copies `text` as UTF-8; the caller made room for 3 bytes per UTF-16 unit. */
  #putText(text: string): void {
    const buf = this.#buf
    let len = this.#len
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c >= 0x80) {
        len += utf8.encodeInto(text.slice(i), buf.subarray(len)).written
        break
      }
      buf[len++] = c
    }
    this.#len = len
  }

  #putBytes(bytes: Uint8Array): void {
    const n = bytes.length
    if (n > 64) {
      this.#buf.set(bytes, this.#len)
      this.#len += n
      return
    }
    const buf = this.#buf
    let len = this.#len
    for (let i = 0; i < n; i++) buf[len++] = bytes[i]!
    this.#len = len
  }

  #block(): void {
    if (this.#blocked) return
    this.#blocked = true
    this.#onWritable(false)
  }

  #finish(): void {
    if (this.#ended) return
    this.#ended = true
    this.#buf = EMPTY
    this.#len = 0
    this.#resolveDone()
  }
}

/**
 * The streaming response for `stream`, with the headers hono's streamSSE sent (and
 * X-Accel-Buffering: no, or proxies such as nginx would buffer the stream).
 */
export function sseResponse<E extends Env>(c: Context<E>, stream: SseStream): Response {
  c.header('Transfer-Encoding', 'chunked')
  c.header('Content-Type', 'text/event-stream')
  c.header('Cache-Control', 'no-cache')
  c.header('Connection', 'keep-alive')
  c.header('X-Accel-Buffering', 'no')
  return c.newResponse(stream.body)
}

/**
 * One interval timer for every open stream's heartbeat, running only while streams are open, so
 * a thousand streams cost one timer and an idle broker none.
 */
export class HeartbeatTicker {
  readonly #intervalMs: number
  readonly #streams = new Set<SseStream>()
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  add(stream: SseStream): void {
    this.#streams.add(stream)
    this.#timer ??= setInterval(this.#tick, this.#intervalMs)
  }

  delete(stream: SseStream): void {
    this.#streams.delete(stream)
    if (this.#streams.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  #tick = (): void => {
    for (const stream of this.#streams) stream.heartbeat()
  }
}
