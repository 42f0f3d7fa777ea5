/**
 * The MessageStore of a data directory's queues (LavinMQ's shape). On a durable queue,
 * persistent messages (deliveryMode 2) are appended to segment files in the queue's directory,
 * settlements to each segment's ack file, and a segment is deleted once all its messages are
 * settled. Transient messages (and every message of a non-durable queue, `transientOnly`) stay
 * in memory while the memory budget allows; past it they are paged out the same way, as records
 * recovery skips, so a long backlog of any kind costs an index entry per message, not its body.
 *
 * Hot path: `append` encodes the record header into group commit's scratch arena and queues
 * header + body for the turn's single writev; `isPersisted` turns true (and `hooks.persisted`
 * fires, releasing publisher confirms) after the group's fdatasync. Acks are buffered the same
 * way. No per-message syscall anywhere.
 *
 * The files themselves (segments, writes, acks, syncs) are segment_log.ts's; this module keeps
 * the delivery order, the memory budget and the delivered mark.
 *
 * Memory: message bodies are kept in RAM within a budget shared by every queue of the data
 * directory (`ResidentBudget`); past it, a message's body is dropped once written and read
 * back (with read-ahead) just before delivery.
 *
 * @module
 */
import { StoreCounts } from './store_counts.ts'
import type { Message } from '../api.ts'
import { log } from '../log.ts'
import { writeDeliveredMark } from './delivered_mark.ts'
import { DiskEntry, type EntryLoader, type ResidentBudget } from './disk_entry.ts'
import { readFrame } from './frame.ts'
import type { GroupCommit } from './group_commit.ts'
import { MemoryEntry } from './memory_store.ts'
import { decodeMessage } from './message_codec.ts'
import { ReadyList } from './ready_list.ts'
import { SegmentLog } from './segment_log.ts'
import { recoverQueueDir } from './segment_recovery.ts'
import type { AppendOptions, MessageStore, StoredMessage, StoreHooks } from './store.ts'

/** Shared by every segment store of a data directory. */
export interface SegmentStoreContext {
  readonly commit: GroupCommit
  /** Persistent bodies in memory (storeMemoryLimit). */
  readonly budget: ResidentBudget
  /** Transient bodies in memory (transientMemoryLimit); absent: `budget`. */
  readonly transientBudget?: ResidentBudget
  /** A new segment is started once the current one is this big. */
  readonly segmentBytes: number
  /** Treat every message as persistent (the store contract suite runs on disk this way). */
  readonly persistAll?: boolean
}

export interface SegmentStoreOptions {
  /**
   * A non-durable queue's store: nothing in it outlives the broker, so nothing is recovered, no
   * message counts as persistent, and the directory (made only when something is paged out)
   * goes with the queue or the broker.
   */
  transientOnly?: boolean
  /** Treat every message of this (durable) queue as persistent: a quorum queue's store. */
  persistAll?: boolean
}

/** How far ahead of the last delivery the delivered mark is written, in sequence numbers. */
const DELIVERED_STEP = 4096
/** Most bytes one page-in reads ahead of the message it needs. */
const READ_AHEAD_BYTES = 256 * 1024
/**
 * Most body bytes recovery keeps in memory per queue (the head of the queue, as one page-in
 * would read it); the rest is paged in with read-ahead on delivery. Filling the whole budget at
 * start costs the decode time and, for a long backlog, RSS the broker may never need.
 */
const RECOVERY_RESIDENT_BYTES = READ_AHEAD_BYTES

/** A stand-in for a message whose record cannot be read back (disk damage after recovery). */
const UNREADABLE: Message = Object.freeze({ exchange: '', routingKey: '', properties: {}, body: new Uint8Array(0) })

export class SegmentStore implements MessageStore, EntryLoader {
  readonly #dir: string
  readonly #ctx: SegmentStoreContext
  readonly #hooks: StoreHooks
  readonly #ready: ReadyList
  #seq = 0
  readonly #counts = new StoreCounts()
  #closed = false
  #flushed = false

  /** Made on first use (most non-durable queues never page anything out). */
  #segmentLog: SegmentLog | undefined
  readonly #transientOnly: boolean
  readonly #persistAll: boolean
  /** Written to disk ahead of deliveries (see delivered_mark.ts). */
  #deliveredMark = 0
  /** Body bytes of this store's entries counted in the shared persistent budget. */
  #counted = 0
  /** And in the transient budget. */
  #countedTransient = 0
  readonly #transientBudget: ResidentBudget

  constructor(dir: string, maxPriority: number, hooks: StoreHooks, ctx: SegmentStoreContext, opts: SegmentStoreOptions = {}) {
    this.#dir = dir
    this.#ctx = ctx
    this.#ready = new ReadyList(maxPriority)
    this.#hooks = hooks
    this.#transientOnly = opts.transientOnly === true
    this.#persistAll = opts.persistAll === true
    this.#transientBudget = ctx.transientBudget ?? ctx.budget
    if (!this.#transientOnly) this.#recover()
  }

  get #log(): SegmentLog {
    this.#segmentLog ??= new SegmentLog(this.#dir, {
      commit: this.#ctx.commit,
      segmentBytes: this.#ctx.segmentBytes,
      loader: this,
      persisted: (entry) => this.#hooks.persisted(entry),
      pagedOut: (entry) => this.#hooks.paged?.(-entry.size),
    })
    return this.#segmentLog
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
    const seq = ++this.#seq
    if (this.#closed) return new MemoryEntry(seq, message, opts)
    const persistent =
      !this.#transientOnly && (message.properties.deliveryMode === 2 || this.#persistAll || this.#ctx.persistAll === true)
    const budget = persistent ? this.#ctx.budget : this.#transientBudget
    const fits = budget.used + opts.size <= budget.limit
    if (!persistent && fits) {
      // The common case for transient messages: memory only, no disk.
      const entry = new MemoryEntry(seq, message, opts)
      this.#countTransient(entry.size)
      this.#addReady(entry)
      return entry
    }
    const head = this.#ctx.commit.arena.encodeMessage(message, seq, opts.priority, opts.expiresAt, !persistent)
    const entry = this.#log.append(seq, opts, head, message)
    if (!persistent) entry.transient = true
    if (fits) this.#count(entry)
    else entry.pageOut = true
    this.#addReady(entry)
    return entry
  }

  survivesRestart(entry: StoredMessage): boolean {
    return entry instanceof DiskEntry && !entry.transient
  }

  isPersisted(entry: StoredMessage): boolean {
    return !(entry instanceof DiskEntry) || entry.persisted || entry.transient
  }

  peek(): StoredMessage | undefined {
    if (this.#counts.readyCount === 0) return undefined
    const level = this.#ready.headLevel()
    const entry = level?.peek()
    if (entry instanceof DiskEntry && entry.resident === undefined) this.#pageIn(level!.at.bind(level), level!.length)
    return entry
  }

  shift(): StoredMessage | undefined {
    if (this.#counts.readyCount === 0) return undefined
    const level = this.#ready.headLevel()
    const entry = level?.peek()
    if (entry === undefined) return undefined
    if (entry instanceof DiskEntry) {
      if (entry.resident === undefined) this.#pageIn(level!.at.bind(level), level!.length)
      if (entry.seq > this.#deliveredMark && !this.#transientOnly) this.#markDelivered(entry.seq)
      entry.ready = false
    }
    level!.shift()
    this.#counts.taken(entry.size)
    return entry
  }

  requeue(entry: StoredMessage): void {
    if (this.#closed) return
    this.#counts.returned(entry.size)
    if (entry instanceof DiskEntry) entry.ready = true
    this.#ready.insert(entry)
  }

  settle(entry: StoredMessage): void {
    if (this.#closed) return
    this.#counts.settled(entry.size)
    if (entry instanceof DiskEntry) this.#forget(entry)
    else this.#countTransient(-entry.size)
  }

  purge(): number {
    this.#unpage()
    for (const entry of this.#ready.all()) {
      if (entry instanceof DiskEntry) this.#forget(entry)
      else this.#countTransient(-entry.size)
    }
    this.#ready.clear()
    return this.#counts.clearReady()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#unpage()
    this.#ready.clear()
    this.#counts.clearAll()
    this.#uncount()
    this.#segmentLog?.destroy()
  }

  async flush(): Promise<void> {
    if (this.#closed || this.#flushed) return
    // Shutdown: a non-durable queue's paged-out messages go with the broker.
    if (this.#transientOnly) return this.close()
    this.#exactMark()
    await this.#ctx.commit.drain()
    this.#flushed = true
    this.#closed = true
    this.#uncount()
    this.#log.release()
  }

  /** EntryLoader: reads one record back (a non-resident message asked for outside peek/shift). */
  load(entry: DiskEntry): Message {
    this.#pageIn((i) => (i === 0 ? entry : undefined), 1)
    return entry.resident ?? UNREADABLE
  }

  // ---- internals ----

  #addReady(entry: StoredMessage): void {
    this.#ready.push(entry)
    this.#counts.added(entry.size)
  }

  /** An entry settled for good: release its body and record the ack. */
  #forget(entry: DiskEntry): void {
    if (entry.counted) {
      entry.counted = false
      if (entry.transient) this.#countTransient(-entry.size)
      else this.#countPersistent(-entry.size)
    }
    entry.ready = false
    this.#log.ack(entry)
  }

  /**
   * The queue is about to forget every ready message at their full size (purge, delete): hand
   * back the bytes of those only on disk, so its memory count stays right.
   */
  #unpage(): void {
    let bytes = 0
    for (const entry of this.#ready.all()) if (entry instanceof DiskEntry && entry.resident === undefined) bytes += entry.size
    if (bytes > 0) this.#hooks.paged?.(bytes)
  }

  /** A disk entry's body is in memory: it counts while resident. */
  #count(entry: DiskEntry): void {
    entry.counted = true
    if (entry.transient) this.#countTransient(entry.size)
    else this.#countPersistent(entry.size)
  }

  #countPersistent(bytes: number): void {
    this.#ctx.budget.used += bytes
    this.#counted += bytes
  }

  /** Memory entries (transient) count from append to settle. */
  #countTransient(bytes: number): void {
    this.#transientBudget.used += bytes
    this.#countedTransient += bytes
  }

  #uncount(): void {
    this.#ctx.budget.used -= this.#counted
    this.#counted = 0
    this.#transientBudget.used -= this.#countedTransient
    this.#countedTransient = 0
  }

  /**
   * Clean shutdown: the sessions have requeued what they held, so the messages that were
   * delivered are exactly the ones with a delivery count. Replace the step-ahead mark by the
   * last of them, so a restart flags no more than those (in a FIFO queue, exactly those).
   */
  #exactMark(): void {
    // Something still out with a consumer: only the step-ahead mark is safe.
    if (!this.#log.hasFiles || this.#counts.outstandingCount > 0) return
    let last = 0
    for (const entry of this.#ready.all()) if (entry instanceof DiskEntry && entry.deliveryCount > 0 && entry.seq > last) last = entry.seq
    if (last === this.#deliveredMark) return
    try {
      writeDeliveredMark(this.#dir, last)
    } catch (error) {
      log.error('Cannot write the delivered mark', { dir: this.#dir, error: String(error) })
    }
  }

  #markDelivered(seq: number): void {
    const mark = seq + DELIVERED_STEP
    try {
      writeDeliveredMark(this.#dir, mark)
      this.#deliveredMark = mark
    } catch (error) {
      log.once('store.mark', 'error', 'Cannot write the delivered mark', { dir: this.#dir, error: String(error) })
    }
  }

  /**
   * Reads the record of entry `at(0)` and, in the same read, the records of the entries after
   * it that follow it in the same segment file (bounded by READ_AHEAD_BYTES).
   */
  #pageIn(at: (i: number) => StoredMessage | undefined, length: number): void {
    const first = at(0) as DiskEntry
    const segment = first.segment
    let span = first.length
    let n = 1
    for (; n < length && n < 4096; n++) {
      const next = at(n)
      if (!(next instanceof DiskEntry) || next.segment !== segment || next.resident !== undefined) break
      if (next.offset !== first.offset + span || span + next.length > READ_AHEAD_BYTES) break
      span += next.length
    }
    let buf: Uint8Array | undefined
    try {
      buf = segment.read(first.offset, span)
    } catch (error) {
      log.once('store.read', 'error', 'Cannot read a message back from its segment', { file: segment.path, error: String(error) })
      n = 1
    }
    let bytes = 0
    for (let i = 0; i < n; i++) {
      const entry = at(i) as DiskEntry
      const payload = buf === undefined ? undefined : readFrame(buf, entry.offset - first.offset)
      if (payload === undefined && buf !== undefined) {
        log.once('store.read', 'error', 'A message record no longer reads back intact', { file: segment.path, offset: entry.offset })
      }
      entry.resident = payload === undefined ? UNREADABLE : decodeMessage(payload)
      this.#count(entry)
      bytes += entry.size
    }
    this.#hooks.paged?.(bytes)
  }

  #recover(): void {
    const budget = this.#ctx.budget
    const found = recoverQueueDir(this.#dir, (segment, offset, length, meta, payload) => {
      const entry = new DiskEntry(meta.seq, meta, segment, offset, length)
      entry.persisted = true
      if (budget.used + meta.size <= budget.limit && this.#counted + meta.size <= RECOVERY_RESIDENT_BYTES) {
        // A copy: the body is a view, and a view of `payload` would keep the whole segment file's buffer.
        entry.resident = decodeMessage(payload.slice())
        this.#count(entry)
      }
      this.#addReady(entry)
    })
    this.#log.adopt(found)
    let onDisk = 0
    for (const entry of this.#ready.all()) if (entry instanceof DiskEntry && entry.resident === undefined) onDisk += entry.size
    if (onDisk > 0) this.#hooks.paged?.(-onDisk)
    const mark = found.deliveredMark
    if (this.#counts.readyCount > 0) {
      for (const entry of this.#ready.all()) if (entry.seq <= mark) entry.deliveryCount = 1
    }
    this.#seq = Math.max(found.maxSeq, Number.isFinite(mark) ? mark : 0)
    // Deliveries up to the mark on disk need no new mark; an unreadable one is rewritten.
    this.#deliveredMark = Number.isFinite(mark) ? mark : this.#seq
    if (!Number.isFinite(mark) && this.#log.hasFiles) this.#markDelivered(this.#seq - DELIVERED_STEP)
  }
}
