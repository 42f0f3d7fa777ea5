/**
 * The in-memory MessageStore: one ring buffer per priority level, ordered by enqueue sequence.
 * Everything is "persisted" at once (transient queues; durable ones until the segment store).
 *
 * @module
 */
import { StoreCounts } from './store_counts.ts'
import type { Message } from '../api.ts'
import { ReadyList } from './ready_list.ts'
import type { AppendOptions, MessageStore, StoreFactory, StoredMessage, StoreQueueInfo } from './store.ts'

/** A message held in memory only (also the segment store's transient messages). */
export class MemoryEntry implements StoredMessage {
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
  #ready: ReadyList
  #seq = 0
  readonly #counts = new StoreCounts()
  #closed = false

  constructor(maxPriority = 0) {
    this.#ready = new ReadyList(maxPriority)
  }

  get readyCount(): number {
    return this.#counts.readyCount
  }
  get readyBytes(): number {
    return this.#counts.readyBytes
  }
  get outstandingCount(): number {
    return this.#counts.outstandingCount
  }
  get outstandingBytes(): number {
    return this.#counts.outstandingBytes
  }

  append(message: Message, opts: AppendOptions): StoredMessage {
    const entry = new MemoryEntry(++this.#seq, message, opts)
    if (this.#closed) return entry
    this.#ready.push(entry)
    this.#counts.added(entry.size)
    return entry
  }

  isPersisted(_entry: StoredMessage): boolean {
    return true
  }

  peek(): StoredMessage | undefined {
    if (this.#counts.readyCount === 0) return undefined
    return this.#ready.headLevel()?.peek()
  }

  shift(): StoredMessage | undefined {
    if (this.#counts.readyCount === 0) return undefined
    const entry = this.#ready.headLevel()?.shift()
    if (entry === undefined) return undefined
    this.#counts.taken(entry.size)
    return entry
  }

  requeue(entry: StoredMessage): void {
    if (this.#closed) return
    this.#counts.returned(entry.size)
    this.#ready.insert(entry)
  }

  settle(entry: StoredMessage): void {
    if (this.#closed) return
    this.#counts.settled(entry.size)
  }

  purge(): number {
    this.#ready.clear()
    return this.#counts.clearReady()
  }

  close(): void {
    this.purge()
    this.#counts.clearAll()
    this.#closed = true
  }
}

/** The default factory: every queue in memory. */
export const memoryStoreFactory: StoreFactory = {
  create: (queue: StoreQueueInfo) => new MemoryStore(queue.maxPriority),
}
