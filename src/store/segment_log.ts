/**
 * The file side of a segment store: the queue directory's segments, the records buffered for
 * the turn's writev, the acks, and the sync rounds that make records durable. The store
 * (segment_store.ts) keeps the message order, the memory budget and the delivered mark.
 *
 * @module
 */
import type { Message } from '../api.ts'
import { dirname } from 'node:path'
import { closeFile, makeDir, openRead, removeDir } from '../runtime/fs.ts'
import { DiskEntry, type EntryLoader } from './disk_entry.ts'
import type { CommitMember, GroupCommit } from './group_commit.ts'
import { Segment } from './segment.ts'
import type { RecoveredDir } from './segment_recovery.ts'
import type { AppendOptions } from './store.ts'

export interface SegmentLogOptions {
  readonly commit: GroupCommit
  /** A new segment is started once the current one is this big. */
  readonly segmentBytes: number
  readonly loader: EntryLoader
  /** A record is on disk (its sync round completed). */
  persisted(entry: DiskEntry): void
  /** A ready entry's body was dropped from memory once written (over the memory budget). */
  pagedOut(entry: DiskEntry): void
}

export class SegmentLog implements CommitMember {
  readonly #dir: string
  readonly #opts: SegmentLogOptions
  readonly #segments = new Map<number, Segment>()
  #current: Segment | undefined
  #nextSegmentId = 1
  #dirMade = false
  #closed = false
  /** Appended, not written: header/body buffers per segment, in order. */
  #pending: { segment: Segment; chunks: Uint8Array[]; entries: DiskEntry[] }[] = []
  /** Written since the last sync began. */
  #unsynced: DiskEntry[] = []
  #dirtySegments = new Set<Segment>()
  /** In the running sync round. */
  #syncingEntries: DiskEntry[] = []
  #syncingSegments: Segment[] = []
  /** Segments with buffered acks, or just emptied. */
  #touched = new Set<Segment>()
  /** Directories with new entries (a new segment, a new queue directory) the next sync covers. */
  #newEntriesIn = new Set<string>()
  /** Their descriptors, open during the sync round. */
  #syncingDirs: number[] = []

  constructor(dir: string, opts: SegmentLogOptions) {
    this.#dir = dir
    this.#opts = opts
  }

  /** Takes over what recovery found in the directory. */
  adopt(found: RecoveredDir): void {
    for (const [id, segment] of found.segments) {
      segment.loader = this.#opts.loader
      this.#segments.set(id, segment)
    }
    this.#dirMade = found.segments.size > 0
    this.#nextSegmentId = found.nextSegmentId
  }

  /** Whether any segment file exists. */
  get hasFiles(): boolean {
    return this.#segments.size > 0
  }

  /**
   * Buffers one message record (`head` from the arena, then the body) for this turn's write and
   * returns its entry. Called on the publish path: no syscall.
   */
  append(seq: number, opts: AppendOptions, head: Uint8Array, message: Message): DiskEntry {
    const length = head.byteLength + message.body.byteLength
    let segment = this.#current
    if (segment === undefined || (segment.size > 0 && segment.size + length > this.#opts.segmentBytes)) segment = this.#roll()
    const entry = new DiskEntry(seq, opts, segment, segment.size, length)
    entry.resident = message
    segment.size += length
    segment.live++
    let group = this.#pending[this.#pending.length - 1]
    if (group === undefined || group.segment !== segment) {
      group = { segment, chunks: [], entries: [] }
      this.#pending.push(group)
    }
    group.chunks.push(head, message.body)
    group.entries.push(entry)
    this.#opts.commit.requestWrite(this)
    return entry
  }

  /** The entry is settled for good: its ack goes out with the next write. */
  ack(entry: DiskEntry): void {
    const segment = entry.segment
    segment.live--
    // Dropped unwritten if the segment is deleted first (a settled segment that is not current).
    segment.acks.push(entry.offset)
    this.#touched.add(segment)
    this.#opts.commit.requestWrite(this)
  }

  /** The queue is deleted: every file goes now. */
  destroy(): void {
    this.#closed = true
    this.#opts.commit.forget(this)
    this.#pending = []
    this.#unsynced = []
    for (const segment of this.#segments.values()) segment.remove()
    this.#segments.clear()
    this.#current = undefined
    removeDir(this.#dir)
  }

  /** Shutdown, after group commit drained: close the files. */
  release(): void {
    this.#closed = true
    for (const segment of this.#segments.values()) segment.release()
  }

  // ---- CommitMember ----

  writeOut(): void {
    if (this.#closed) return
    // Bounded by the groups buffered; a failed write leaves the rest for the retry.
    while (this.#pending.length > 0) {
      const group = this.#pending[0]!
      group.segment.append(group.chunks)
      this.#pending.shift()
      this.#dirtySegments.add(group.segment)
      for (const entry of group.entries) {
        this.#unsynced.push(entry)
        if (entry.pageOut) {
          entry.pageOut = false
          // Written: a ready message past the memory budget keeps only its place in the file.
          if (entry.ready) {
            entry.resident = undefined
            this.#opts.pagedOut(entry)
          }
        }
      }
    }
    for (const segment of this.#touched) {
      // The current segment stays, settled or not: a queue that drains every turn would
      // otherwise create, sync and delete a file (and sync its directory) every round.
      if (segment.live === 0 && segment.size === segment.written && segment !== this.#current) this.#removeSegment(segment)
      else segment.writeAcks()
    }
    this.#touched.clear()
    if (this.#unsynced.length > 0) this.#opts.commit.requestSync(this)
  }

  beginSync(fds: number[]): void {
    for (const segment of this.#dirtySegments) {
      segment.syncing = true
      this.#syncingSegments.push(segment)
    }
    this.#dirtySegments.clear()
    for (const segment of this.#syncingSegments) {
      const fd = segment.openFd
      if (fd !== undefined) fds.push(fd)
    }
    // A new file's name is durable only once its directory is synced.
    for (const dir of this.#newEntriesIn) {
      const fd = openRead(dir)
      if (fd !== undefined) this.#syncingDirs.push(fd)
    }
    this.#newEntriesIn.clear()
    for (const fd of this.#syncingDirs) fds.push(fd)
    for (const entry of this.#unsynced) this.#syncingEntries.push(entry)
    this.#unsynced = []
  }

  endSync(): void {
    for (const segment of this.#syncingSegments) {
      segment.syncing = false
      // Only the current segment is written again; the others close until a read needs them,
      // and so does a settled current one (an idle queue holds no descriptor).
      if (segment !== this.#current || this.#closed || segment.live === 0) segment.release()
    }
    this.#syncingSegments = []
    for (const fd of this.#syncingDirs) closeFile(fd)
    this.#syncingDirs = []
    const entries = this.#syncingEntries
    this.#syncingEntries = []
    for (const entry of entries) {
      entry.persisted = true
      if (!this.#closed) this.#opts.persisted(entry)
    }
  }

  /** Starts a new segment (the previous one keeps its buffered writes). */
  #roll(): Segment {
    if (!this.#dirMade) {
      makeDir(this.#dir)
      this.#dirMade = true
      this.#newEntriesIn.add(dirname(this.#dir))
      this.#newEntriesIn.add(dirname(dirname(this.#dir)))
    }
    this.#newEntriesIn.add(this.#dir)
    const segment = new Segment(this.#dir, this.#nextSegmentId++, this.#opts.loader)
    this.#segments.set(segment.id, segment)
    const previous = this.#current
    this.#current = segment
    if (previous !== undefined && previous.live === 0) this.#touched.add(previous)
    return segment
  }

  #removeSegment(segment: Segment): void {
    segment.remove()
    this.#segments.delete(segment.id)
  }
}
