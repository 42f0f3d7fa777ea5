/**
 * Publisher-confirm bookkeeping: a session's batch of outcomes waiting for the end of the
 * burst, and a queue's publishes waiting for its store to persist them.
 *
 * @module
 */
import type { SessionEvents } from '../api.ts'
import type { StoredMessage } from '../store/store.ts'

/** Gets told when a message it published is safe in a queue's store. */
export interface PersistWaiter {
  persisted(confirmId: number): void
}

/** One session's confirms and rejections, emitted ascending once per burst. */
export class ConfirmBatch {
  #confirms: number[] = []
  #rejects: number[] = []
  #sorted = true
  /** confirmId → queues still persisting it (durable stores only). */
  #pending: Map<number, { left: number; rejected: boolean }> | undefined

  /** Records an outcome; true when it is ready to emit (no queue still persisting it). */
  add(id: number, rejected: boolean, pending: number): boolean {
    if (pending > 0) {
      this.#pending ??= new Map()
      this.#pending.set(id, { left: pending, rejected })
      return false
    }
    const list = rejected ? this.#rejects : this.#confirms
    if (list.length > 0 && list[list.length - 1]! > id) this.#sorted = false
    list.push(id)
    return true
  }

  /** One queue persisted `id`; true when that made it ready to emit. */
  persisted(id: number): boolean {
    const p = this.#pending?.get(id)
    if (p === undefined || --p.left > 0) return false
    this.#pending!.delete(id)
    return this.add(id, p.rejected, 0)
  }

  /** Hands the batch to the adapter. */
  emit(events: SessionEvents): void {
    if (!this.#sorted) {
      this.#confirms.sort((a, b) => a - b)
      this.#rejects.sort((a, b) => a - b)
      this.#sorted = true
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
  }

  clear(): void {
    this.#confirms = []
    this.#rejects = []
    this.#pending = undefined
  }
}

/** A queue's publishes waiting for its store to persist their entries. */
export class PersistWaiters {
  #byEntry = new Map<StoredMessage, { waiter: PersistWaiter; id: number }[]>()

  add(entry: StoredMessage, waiter: PersistWaiter, id: number): void {
    const list = this.#byEntry.get(entry)
    if (list === undefined) this.#byEntry.set(entry, [{ waiter, id }])
    else list.push({ waiter, id })
  }

  /** The store persisted `entry`: tell its publishers. */
  persisted(entry: StoredMessage): void {
    const list = this.#byEntry.get(entry)
    if (list === undefined) return
    this.#byEntry.delete(entry)
    for (const w of list) w.waiter.persisted(w.id)
  }

  /** The queue is gone: as RabbitMQ, its waiting publishes are confirmed, not rejected. */
  releaseAll(): void {
    const all = [...this.#byEntry.values()]
    this.#byEntry.clear()
    for (const list of all) for (const w of list) w.waiter.persisted(w.id)
  }
}
