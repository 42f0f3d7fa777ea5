/**
 * The in-memory MessageStore: one ring buffer per priority level, ordered by enqueue sequence.
 * Everything is "persisted" at once (transient queues; durable ones until the segment store).
 *
 * @module
 */
import type { Message } from '../api.ts'
import { Deque } from './deque.ts'
import type { AppendOptions, MessageStore, StoreFactory, StoredMessage, StoreQueueInfo } from './store.ts'

class Entry implements StoredMessage {
  readonly seq: number
  readonly message: Message
  readonly size: number
  readonly priority: number
  readonly expiresAt: number
  deliveryCount = 0

  constructor(seq: number, message: Message, opts: AppendOptions) {
    this.seq = seq
    this.message = message
    this.size = opts.size
    this.priority = opts.priority
    this.expiresAt = opts.expiresAt
  }
}

export class MemoryStore implements MessageStore {
  /** Index = priority; a queue without x-max-priority has one level. */
  #levels: Deque<StoredMessage>[]
  #seq = 0
  #readyCount = 0
  #readyBytes = 0
  #outstandingCount = 0
  #outstandingBytes = 0
  #closed = false

  constructor(maxPriority = 0) {
    this.#levels = []
    for (let i = 0; i <= maxPriority; i++) this.#levels.push(new Deque<StoredMessage>())
  }

  get readyCount(): number {
    return this.#readyCount
  }
  get readyBytes(): number {
    return this.#readyBytes
  }
  get outstandingCount(): number {
    return this.#outstandingCount
  }
  get outstandingBytes(): number {
    return this.#outstandingBytes
  }

  append(message: Message, opts: AppendOptions): StoredMessage {
    const entry = new Entry(++this.#seq, message, opts)
    if (this.#closed) return entry
    this.#level(entry.priority).push(entry)
    this.#readyCount++
    this.#readyBytes += entry.size
    return entry
  }

  isPersisted(_entry: StoredMessage): boolean {
    return true
  }

  peek(): StoredMessage | undefined {
    if (this.#readyCount === 0) return undefined
    const levels = this.#levels
    for (let i = levels.length - 1; i >= 0; i--) {
      const head = levels[i]!.peek()
      if (head !== undefined) return head
    }
    return undefined
  }

  shift(): StoredMessage | undefined {
    if (this.#readyCount === 0) return undefined
    const levels = this.#levels
    for (let i = levels.length - 1; i >= 0; i--) {
      const entry = levels[i]!.shift()
      if (entry === undefined) continue
      this.#readyCount--
      this.#readyBytes -= entry.size
      this.#outstandingCount++
      this.#outstandingBytes += entry.size
      return entry
    }
    return undefined
  }

  requeue(entry: StoredMessage): void {
    if (this.#closed) return
    this.#outstandingCount--
    this.#outstandingBytes -= entry.size
    this.#readyCount++
    this.#readyBytes += entry.size
    const level = this.#level(entry.priority)
    // Requeued messages usually belong at the head; insert by sequence otherwise.
    const head = level.peek()
    if (head === undefined || entry.seq < head.seq) return level.unshift(entry)
    if (entry.seq > level.last()!.seq) return level.push(entry)
    let lo = 0
    let hi = level.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (level.at(mid)!.seq < entry.seq) lo = mid + 1
      else hi = mid
    }
    level.insertAt(lo, entry)
  }

  settle(entry: StoredMessage): void {
    if (this.#closed) return
    this.#outstandingCount--
    this.#outstandingBytes -= entry.size
  }

  purge(): number {
    const count = this.#readyCount
    for (const level of this.#levels) level.clear()
    this.#readyCount = 0
    this.#readyBytes = 0
    return count
  }

  close(): void {
    this.purge()
    this.#outstandingCount = 0
    this.#outstandingBytes = 0
    this.#closed = true
  }

  #level(priority: number): Deque<StoredMessage> {
    const levels = this.#levels
    return levels[priority < levels.length ? priority : levels.length - 1]!
  }
}

/** The default factory: every queue in memory. */
export const memoryStoreFactory: StoreFactory = {
  create: (queue: StoreQueueInfo) => new MemoryStore(queue.maxPriority),
}
