/**
 * Burst scheduling for the delivery hot path. Deliveries and confirms are encoded at once but
 * written once per burst: a session that got something is marked, and a single microtask per
 * burst flushes every marked session. Long backlogs yield to the event loop between slices.
 *
 * @module
 */
import { log } from '../log.ts'

/** Something with output to write at the end of a burst (a session). */
export interface FlushTarget {
  /** Set while the target waits in the flush list. */
  flushQueued: boolean
  /** Emits batched confirms and calls the adapter's flush(). */
  flushNow(): void
}

/** Runs `fn` after pending I/O, so one busy queue cannot starve sockets and timers. */
export const yieldToLoop: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0)

export class FlushScheduler {
  #dirty: FlushTarget[] = []
  #scheduled = false
  #run = (): void => this.#flushAll()

  /** Remembers `target` for this burst's flush. Called on the hot path; allocates nothing. */
  mark(target: FlushTarget): void {
    if (target.flushQueued) return
    target.flushQueued = true
    this.#dirty.push(target)
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(this.#run)
    }
  }

  #flushAll(): void {
    this.#scheduled = false
    const dirty = this.#dirty
    // Targets marked while flushing join this same pass (the length is re-read).
    for (let i = 0; i < dirty.length; i++) {
      const target = dirty[i]!
      target.flushQueued = false
      try {
        target.flushNow()
      } catch (error) {
        // An adapter's flush failing must not keep the other sessions' output back.
        log.once('core.flush', 'error', 'Session flush failed', { error: String(error) })
      }
    }
    dirty.length = 0
  }
}
