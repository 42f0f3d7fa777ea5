/**
 * Group commit: every durable file of a data directory buffers its appends, and once per
 * event-loop turn (setImmediate, after the turn's socket reads) all of them are written with one
 * writev each; then one round of fdatasync covers everything written so far, while the next
 * turns keep writing. Publisher confirms wait for the round that covers their message, so a
 * burst of thousands of publishes costs one write and one sync per file, not one per message.
 *
 * Members (segment stores, key-value logs, the definitions log) implement `CommitMember`.
 *
 * @module
 */
import { log } from '../log.ts'
import { syncFile } from '../runtime/fs.ts'
import { RecordArena } from './message_codec.ts'

/** A writer whose appends group commit writes and syncs. */
export interface CommitMember {
  /**
   * Writes what is buffered (one writev per file) and calls `requestSync` if it wants a sync.
   * May throw (disk full): the member is retried later and must keep its buffers.
   */
  writeOut(): void
  /** Adds the descriptors with unsynced writes to `fds` and remembers who waits for them. */
  beginSync(fds: number[]): void
  /** The descriptors of the last `beginSync` are on disk: tell whoever waited. */
  endSync(): void
}

/** How long a failed write or sync waits before it is tried again, ms. */
const RETRY_MS = 1000

const later: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0)

export class GroupCommit {
  /** Scratch space for record headers; reset once a turn's writes are done. */
  arena = new RecordArena()
  #toWrite = new Set<CommitMember>()
  #toSync = new Set<CommitMember>()
  #scheduled = false
  #syncing: Promise<void> | undefined
  #retry: ReturnType<typeof setTimeout> | undefined
  #tick = (): void => this.#run()

  /** `member` buffered something: write it this turn. Called on the publish path. */
  requestWrite(member: CommitMember): void {
    this.#toWrite.add(member)
    this.#schedule()
  }

  /** `member` wrote something that must reach the disk. */
  requestSync(member: CommitMember): void {
    this.#toSync.add(member)
    this.#schedule()
  }

  /** A deleted member: forget it. */
  forget(member: CommitMember): void {
    this.#toWrite.delete(member)
    this.#toSync.delete(member)
  }

  /** Writes and syncs everything now; resolves when all of it is on disk (shutdown). */
  async drain(): Promise<void> {
    // Bounded: each pass writes what was buffered; after shutdown nothing new arrives.
    for (let pass = 0; pass < 100; pass++) {
      this.#writeAll()
      if (this.#syncing !== undefined) await this.#syncing
      else if (this.#toSync.size > 0) await this.#startSync()
      if (this.#toWrite.size === 0 && this.#toSync.size === 0 && this.#syncing === undefined) return
    }
  }

  /** Stops the retry timer (the process is going away). */
  close(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry)
    this.#retry = undefined
  }

  #schedule(): void {
    if (this.#scheduled || this.#retry !== undefined) return
    this.#scheduled = true
    later(this.#tick)
  }

  #run(): void {
    this.#scheduled = false
    this.#writeAll()
    if (this.#syncing === undefined && this.#toSync.size > 0) void this.#startSync()
  }

  #writeAll(): void {
    if (this.#toWrite.size === 0) return
    const members = [...this.#toWrite]
    this.#toWrite.clear()
    let failed = false
    for (const member of members) {
      try {
        member.writeOut()
      } catch (error) {
        failed = true
        this.#toWrite.add(member)
        log.once('store.write', 'error', 'Cannot write to the data directory, retrying', { error: String(error) })
      }
    }
    if (failed) {
      // Failed members still point into the arena: give the next writes fresh space.
      this.arena = new RecordArena()
      this.#retryLater()
    } else {
      this.arena.reset()
    }
  }

  #startSync(): Promise<void> {
    const members = [...this.#toSync]
    this.#toSync.clear()
    const fds: number[] = []
    for (const member of members) member.beginSync(fds)
    const unique = [...new Set(fds)]
    const round = Promise.all(unique.map(syncFile)).then(
      () => {
        this.#syncing = undefined
        for (const member of members) member.endSync()
        if (this.#toSync.size > 0 && this.#retry === undefined) void this.#startSync()
      },
      (error: unknown) => {
        this.#syncing = undefined
        log.once('store.sync', 'error', 'Cannot sync the data directory, retrying', { error: String(error) })
        // Their writes are in the kernel; the next round syncs them again.
        for (const member of members) this.#toSync.add(member)
        this.#retryLater()
      },
    )
    this.#syncing = round
    return round
  }

  #retryLater(): void {
    if (this.#retry !== undefined) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#schedule()
    }, RETRY_MS)
  }
}
