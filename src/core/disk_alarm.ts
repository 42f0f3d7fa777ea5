/**
 * The disk alarm: free space on the data directory's filesystem, checked periodically. Below
 * the limit the broker is blocked (adapters stop reading from publishers and tell them), as
 * RabbitMQ's disk_free_limit; it unblocks once free space is back at or above the limit.
 *
 * @module
 */
import { log } from '../log.ts'

export interface DiskAlarmOptions {
  /** Bytes of free space below which the alarm is on; <= 0 disables the alarm. */
  limit: number
  /** Where free space is measured from (bytes). */
  freeSpace: () => number | Promise<number>
  /** Time between checks, ms. */
  intervalMs: number
}

export class DiskAlarm {
  #opts: DiskAlarmOptions
  #blocked = false
  #free: number | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #checking = false
  #failed = false
  #listeners = new Set<(blocked: boolean, reason: string) => void>()

  constructor(opts: DiskAlarmOptions) {
    this.#opts = opts
  }

  get blocked(): boolean {
    return this.#blocked
  }

  /** Bytes free at the last check; undefined before the first one or when disabled. */
  get free(): number | undefined {
    return this.#free
  }

  get limit(): number {
    return Math.max(0, this.#opts.limit)
  }

  /** Checks now, then every `intervalMs` on a timer that does not keep the process alive. */
  start(): void {
    if (this.#opts.limit <= 0 || this.#timer !== undefined) return
    void this.check()
    this.#timer = setInterval(() => void this.check(), this.#opts.intervalMs)
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One reading; a failed one is logged (once) and leaves the alarm as it was. */
  async check(): Promise<void> {
    if (this.#checking || this.#opts.limit <= 0) return
    this.#checking = true
    try {
      const free = await this.#opts.freeSpace()
      this.#failed = false
      this.#free = free
      const low = free < this.#opts.limit
      if (low !== this.#blocked) {
        log[low ? 'warn' : 'info'](low ? 'Disk alarm set: free disk space below limit' : 'Disk alarm cleared', {
          free,
          limit: this.#opts.limit,
        })
        this.#set(low)
      }
    } catch (error) {
      if (!this.#failed) log.warn('Cannot read free disk space', { error: String(error) })
      this.#failed = true
    } finally {
      this.#checking = false
    }
  }

  onChange(listener: (blocked: boolean, reason: string) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  #set(blocked: boolean): void {
    this.#blocked = blocked
    for (const listener of [...this.#listeners]) {
      try {
        listener(blocked, 'disk')
      } catch (error) {
        log.error('Disk alarm listener failed', { error: String(error) })
      }
    }
  }
}
