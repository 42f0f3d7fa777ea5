/**
 * The storage every queue's messages go through. A queue owns one MessageStore; the store keeps
 * the ready messages in delivery order (priority, then enqueue sequence) and counts the ones
 * handed out ("outstanding": delivered and not yet settled) so a durable store knows what it
 * may forget.
 *
 * The memory store answers every call synchronously. A durable store (issue 5's segment store)
 * may keep bodies on disk and fsync later: `isPersisted` is false for a message it has not made
 * safe yet, and it calls `hooks.persisted(entry)` once it has, so publisher confirms can wait.
 *
 * @module
 */
import type { Message } from '../api.ts'

/** One message as one queue holds it. The Message (and its body) is shared by every queue it reached. */
export interface StoredMessage {
  /** Enqueue sequence within the queue, strictly increasing: the order requeue restores. */
  readonly seq: number
  readonly message: Message
  /** Body bytes: counted toward x-max-length-bytes and the memory alarm. */
  readonly size: number
  /** 0..255, already capped to the queue's x-max-priority (0 without priorities). */
  readonly priority: number
  /** Epoch ms at which the message expires; 0 = never. */
  readonly expiresAt: number
  /** Times the message went back to the queue (requeue, session close). */
  deliveryCount: number
}

export interface AppendOptions {
  size: number
  priority: number
  expiresAt: number
}

export interface MessageStore {
  /** Adds a ready message at the tail of its priority. Called on the publish path. */
  append(message: Message, opts: AppendOptions): StoredMessage
  /**
   * True when `entry` is kept across a restart: recovery brings it back with the same `seq`.
   * Absent: nothing is (the memory store).
   */
  survivesRestart?(entry: StoredMessage): boolean
  /** True when `entry` is as safe as this store makes it; otherwise `hooks.persisted` follows. */
  isPersisted(entry: StoredMessage): boolean
  /** The next ready message (highest priority, lowest sequence), without taking it. */
  peek(): StoredMessage | undefined
  /** Takes the next ready message; it stays outstanding until `settle` or `requeue`. */
  shift(): StoredMessage | undefined
  /** Returns an outstanding message to the ready list at its original position (by `seq`). */
  requeue(entry: StoredMessage): void
  /** An outstanding message is gone for good (acked, dropped, dead-lettered). */
  settle(entry: StoredMessage): void
  /** Drops every ready message (outstanding ones stay); returns how many. */
  purge(): number
  /** The queue was deleted: forget everything. Later calls are no-ops. */
  close(): void
  /**
   * Broker shutdown (the queue lives on in durable state): make what was appended safe and
   * release resources. The store is not used afterwards. Absent: nothing to do.
   */
  flush?(): Promise<void>
  readonly readyCount: number
  /** Body bytes of the ready messages. */
  readonly readyBytes: number
  readonly outstandingCount: number
  readonly outstandingBytes: number
}

/** Callbacks from a store to its queue. */
export interface StoreHooks {
  /** `entry` (appended while `isPersisted` was false) is now safe. */
  persisted(entry: StoredMessage): void
  /**
   * Bodies left memory (negative bytes: written to disk and dropped) or came back (positive:
   * read back for delivery), so the memory alarm counts only what is in RAM. A store calls it
   * so that bytes appended, minus bytes settled, purged or closed, plus every `paged` delta,
   * is always what it holds in memory.
   */
  paged?(bytes: number): void
}

/** What a store needs to know about its queue. */
export interface StoreQueueInfo {
  readonly vhost: string
  readonly name: string
  readonly durable: boolean
  /** x-max-priority, 0 without priorities. */
  readonly maxPriority: number
  /**
   * Keep every message across restarts, whatever its delivery mode (a quorum queue persists
   * all it holds). Absent: only persistent messages (deliveryMode 2) on a durable queue.
   */
  readonly persistAll?: boolean
}

/** Creates the store of each new queue. */
export interface StoreFactory {
  create(queue: StoreQueueInfo, hooks: StoreHooks): MessageStore
}
