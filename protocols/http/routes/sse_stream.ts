/**
 * One open Server-Sent Events response: batches event text per delivery burst, turns the
 * response stream's backpressure into the core session's writability, and writes heartbeat
 * comments. Shared by live subscriptions (sse.ts) and queue consumers (sse_queue.ts).
 *
 * Memory per stream is bounded twice: a burst stops once the batch holds `maxBatchEvents`
 * events (the session is made unwritable from inside `push`), and while a second batch waits
 * behind one the response has not taken yet the session stays unwritable, so the core keeps the
 * rest in the queue (whose own limits apply) instead of here.
 *
 * @module
 */
import type { SSEStreamingApi } from 'hono/streaming'

/** The heartbeat comment: proxies see traffic, EventSource ignores it. */
const PING = ': ping\n\n'

export interface SseStreamOptions {
  /** Called with false to stop the session's deliveries and true to resume them. */
  onWritable(writable: boolean): void
  /** Events per batch after which the burst is cut short (the session becomes unwritable). */
  maxBatchEvents: number
}

export class SseStream {
  readonly #api: SSEStreamingApi
  readonly #onWritable: (writable: boolean) => void
  readonly #maxBatchEvents: number
  #batch = ''
  #batchEvents = 0
  /** Writes handed to the response that it has not taken yet. */
  #pending = 0
  /** Whether this stream told the session to stop. */
  #blocked = false
  #ended = false
  #resolveDone!: () => void
  /** Settles once the client went away or `end` was called: the route's stream callback awaits it. */
  readonly done: Promise<void>

  constructor(api: SSEStreamingApi, opts: SseStreamOptions) {
    this.#api = api
    this.#onWritable = opts.onWritable
    this.#maxBatchEvents = opts.maxBatchEvents
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve
    })
    api.onAbort(() => this.#finish())
  }

  /** True once the client went away or the server ended the stream. */
  get ended(): boolean {
    return this.#ended
  }

  /**
   * Adds one complete event (ending in a blank line) to the current batch. Called from the
   * core's deliver callback: must not await; may make the session unwritable to end the burst.
   */
  push(eventText: string): void {
    if (this.#ended) return
    this.#batch += eventText
    if (++this.#batchEvents >= this.#maxBatchEvents) this.#block()
  }

  /** Writes the batch as one chunk (the core's end of burst). */
  flush(): void {
    if (this.#batchEvents === 0 || this.#ended) return
    const text = this.#batch
    this.#batch = ''
    this.#batchEvents = 0
    this.#write(text)
  }

  /** Writes text outside the delivery path (the opening `retry:` and `stream` event). */
  writeRaw(text: string): void {
    if (!this.#ended) this.#write(text)
  }

  /** A heartbeat comment, skipped while data is still waiting to go out (that traffic suffices). */
  heartbeat(): void {
    if (!this.#ended && this.#pending === 0) this.#write(PING)
  }

  /** Ends the response after what was already written; the client's EventSource reconnects. */
  end(): void {
    if (this.#ended) return
    this.flush()
    this.#finish()
  }

  #write(text: string): void {
    this.#pending++
    // The promise settles once the response took the chunk; hono swallows write errors (the
    // client is gone, and onAbort reports that).
    void this.#api.write(text).then(this.#written)
    // The first write is taken at once when the pipeline is empty; a second one waiting behind
    // it means the client reads slower than we produce.
    if (this.#pending >= 2) this.#block()
  }

  #written = (): void => {
    this.#pending--
    if (this.#pending === 0 && this.#blocked && !this.#ended) {
      this.#blocked = false
      this.#onWritable(true)
    }
  }

  #block(): void {
    if (this.#blocked) return
    this.#blocked = true
    this.#onWritable(false)
  }

  #finish(): void {
    if (this.#ended) return
    this.#ended = true
    this.#batch = ''
    this.#resolveDone()
  }
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
