/**
 * The memory alarm: bytes of message bodies held by queues (ready and unacknowledged). Above
 * the high watermark the broker is blocked (adapters stop reading from publishers and tell
 * them); it unblocks below 90% of it, so it does not flap around the line.
 *
 * @module
 */
import { log } from '../log.ts'

const HYSTERESIS = 0.9

export class MemoryAlarm {
  #held = 0
  #high: number
  #low: number
  #blocked = false
  #listeners = new Set<(blocked: boolean, reason: string) => void>()

  /** `highWatermark` <= 0 disables the alarm. */
  constructor(highWatermark: number) {
    this.#high = highWatermark > 0 ? highWatermark : Number.POSITIVE_INFINITY
    this.#low = this.#high * HYSTERESIS
  }

  get blocked(): boolean {
    return this.#blocked
  }

  /** Bytes currently held. */
  get held(): number {
    return this.#held
  }

  /** Called on the publish path for every enqueued copy. */
  add(bytes: number): void {
    this.#held += bytes
    if (!this.#blocked && this.#held > this.#high) this.#set(true)
  }

  /** Called when a held copy is settled, dropped, purged or deleted. */
  remove(bytes: number): void {
    this.#held -= bytes
    if (this.#blocked && this.#held < this.#low) this.#set(false)
  }

  onChange(listener: (blocked: boolean, reason: string) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  #set(blocked: boolean): void {
    this.#blocked = blocked
    for (const listener of [...this.#listeners]) {
      try {
        listener(blocked, 'memory')
      } catch (error) {
        // One adapter's listener must not stop the others hearing about the alarm.
        log.error('Memory alarm listener failed', { error: String(error) })
      }
    }
  }
}
