/**
 * AMQP heartbeats for one connection: one interval timer at half the negotiated period. A tick
 * sends a heartbeat frame when nothing else was written since the last tick, and counts ticks
 * without any incoming byte; four silent ticks (two heartbeat periods, as RabbitMQ allows) time
 * the peer out.
 *
 * @module
 */

/** Silent half-period ticks before the peer counts as dead: two full heartbeat periods. */
const SILENT_TICKS_LIMIT = 4

/** A connection's timers alone must not keep the process alive (where the runtime allows). */
export function unref<T>(timer: T): T {
  ;(timer as { unref?: () => void }).unref?.()
  return timer
}

export interface HeartbeatOptions {
  /** Negotiated heartbeat in seconds; 0 disables heartbeats entirely. */
  seconds: number
  /** Write one heartbeat frame and flush. */
  send: () => void
  /** The peer has been silent too long. */
  timeout: () => void
}

export class Heartbeat {
  #timer: ReturnType<typeof setInterval> | undefined
  #opts: HeartbeatOptions
  #received = true
  #sent = false
  #silentTicks = 0
  #monitorPaused = false

  constructor(opts: HeartbeatOptions) {
    this.#opts = opts
    if (opts.seconds <= 0) return
    this.#timer = unref(setInterval(() => this.#tick(), (opts.seconds * 1000) / 2))
  }

  /** Called on the read path for every chunk; must stay a field store. */
  markReceived(): void {
    this.#received = true
  }

  /** Called whenever bytes go to the socket. */
  markSent(): void {
    this.#sent = true
  }

  /**
   * Stop counting silence while we deliberately do not read (a blocked publisher), as RabbitMQ
   * pauses its heartbeat monitor.
   */
  pauseMonitor(paused: boolean): void {
    this.#monitorPaused = paused
    this.#silentTicks = 0
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #tick(): void {
    if (!this.#sent) this.#opts.send()
    this.#sent = false
    if (this.#received || this.#monitorPaused) {
      this.#silentTicks = 0
    } else if (++this.#silentTicks >= SILENT_TICKS_LIMIT) {
      this.stop()
      this.#opts.timeout()
      return
    }
    this.#received = false
  }
}
