/**
 * A durable KeyValueStore (api.ts) for one namespace: the map lives in memory, every change is
 * appended to `<dataDir>/kv/<hex of the namespace>.log` at once (one write per change: this is
 * adapters' small state, not the message path) and `set` resolves once group commit has synced
 * it. The log is compacted (atomic replace) on open and whenever it has grown to
 * several times its live contents.
 *
 * Record payload: u8 op (1 set, 2 delete), u32 LE key byte length, the key (UTF-8), then the
 * value bytes (set only).
 *
 * @module
 */
import type { KeyValueStore } from '../api.ts'
import { log } from '../log.ts'
import { appendAll, closeFile, openAppend, readWhole, replaceFile, syncFileNow, truncateFd } from '../runtime/fs.ts'
import { FRAME_HEADER, frame, scanFrames, writeFrameHeader } from './frame.ts'
import type { CommitMember, GroupCommit } from './group_commit.ts'
import { report } from './segment_recovery.ts'

const SET = 1
const DELETE = 2
/** Compact once the file is this many times its live bytes (and past COMPACT_MIN_BYTES). */
const COMPACT_FACTOR = 4
const COMPACT_MIN_BYTES = 256 * 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class DurableKeyValueStore implements KeyValueStore, CommitMember {
  readonly #path: string
  readonly #commit: GroupCommit
  readonly #entries = new Map<string, Uint8Array>()
  #fd: number | undefined
  /** The descriptor a running sync round uses; a compaction closes the old file only after it. */
  #syncingFd: number | undefined
  #retiredFd: number | undefined
  /** Bytes in the file. */
  #fileBytes = 0
  /** Bytes a compacted file would have. */
  #liveBytes = 0
  #pending: Uint8Array[] = []
  #pendingDone: (() => void)[] = []
  #unsynced: (() => void)[] = []
  #syncing: (() => void)[] = []

  constructor(path: string, commit: GroupCommit) {
    this.#path = path
    this.#commit = commit
    this.#replay()
    this.#compact()
  }

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key)
  }

  set(key: string, value: Uint8Array | null): Promise<void> {
    const old = this.#entries.get(key)
    if (old !== undefined) this.#liveBytes -= recordSize(key, old)
    if (value === null) this.#entries.delete(key)
    else {
      this.#entries.set(key, value)
      this.#liveBytes += recordSize(key, value)
    }
    if (this.#fd === undefined) return Promise.resolve()
    const head = new Uint8Array(FRAME_HEADER + 5)
    const keyBytes = encoder.encode(key)
    const payloadHead = head.subarray(FRAME_HEADER)
    payloadHead[0] = value === null ? DELETE : SET
    new DataView(head.buffer).setUint32(FRAME_HEADER + 1, keyBytes.byteLength, true)
    const parts = value === null ? [payloadHead, keyBytes] : [payloadHead, keyBytes, value]
    writeFrameHeader(head, 0, parts)
    this.#pending.push(head, keyBytes)
    if (value !== null) this.#pending.push(value)
    const done = new Promise<void>((resolve) => this.#pendingDone.push(resolve))
    // Written now, not at the end of the turn: an adapter may answer its client before the
    // promise settles (an MQTT retained publish nobody subscribes to is acknowledged at once),
    // and a kill -9 right after that answer must not lose the change. The fsync is grouped.
    try {
      this.writeOut()
    } catch (error) {
      log.once('store.kv', 'error', 'Cannot write a key-value change, retrying', { file: this.#path, error: String(error) })
      this.#commit.requestWrite(this)
    }
    return done
  }

  *entries(prefix?: string): Iterable<[string, Uint8Array]> {
    for (const entry of this.#entries) if (prefix === undefined || entry[0].startsWith(prefix)) yield entry
  }

  // ---- CommitMember ----

  writeOut(): void {
    if (this.#fd === undefined || this.#pending.length === 0) return
    try {
      this.#fileBytes += appendAll(this.#fd, this.#pending)
    } catch (error) {
      truncateFd(this.#fd, this.#fileBytes)
      throw error
    }
    this.#pending = []
    for (const done of this.#pendingDone) this.#unsynced.push(done)
    this.#pendingDone = []
    if (this.#fileBytes > Math.max(COMPACT_MIN_BYTES, COMPACT_FACTOR * this.#liveBytes)) {
      try {
        this.#compact()
      } catch (error) {
        log.once('store.kv', 'error', 'Cannot compact a key-value file', { file: this.#path, error: String(error) })
      }
    }
    this.#commit.requestSync(this)
  }

  beginSync(fds: number[]): void {
    if (this.#fd !== undefined && this.#unsynced.length > 0) {
      fds.push(this.#fd)
      this.#syncingFd = this.#fd
    }
    for (const done of this.#unsynced) this.#syncing.push(done)
    this.#unsynced = []
  }

  endSync(): void {
    this.#syncingFd = undefined
    if (this.#retiredFd !== undefined) closeFile(this.#retiredFd)
    this.#retiredFd = undefined
    const done = this.#syncing
    this.#syncing = []
    for (const resolve of done) resolve()
  }

  /** Syncs and closes the file (shutdown, after group commit drained). */
  close(): void {
    if (this.#fd === undefined) return
    syncFileNow(this.#fd)
    closeFile(this.#fd)
    this.#fd = undefined
    for (const resolve of [...this.#pendingDone, ...this.#unsynced, ...this.#syncing]) resolve()
  }

  #replay(): void {
    const buf = readWhole(this.#path)
    if (buf === undefined) return
    const result = scanFrames(buf, 0, (payload, offset) => {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
      const op = payload[0]
      const keyLength = payload.byteLength >= 5 ? view.getUint32(1, true) : -1
      if ((op !== SET && op !== DELETE) || keyLength < 0 || 5 + keyLength > payload.byteLength) {
        log.error('Skipping an unreadable key-value record', { file: this.#path, offset })
        return
      }
      const key = decoder.decode(payload.subarray(5, 5 + keyLength))
      if (op === DELETE) this.#entries.delete(key)
      else this.#entries.set(key, payload.slice(5 + keyLength))
    })
    report(this.#path, result.problems, result.end)
    for (const [key, value] of this.#entries) this.#liveBytes += recordSize(key, value)
  }

  /** Closes the current file now, or after the sync round that is using it. */
  #retire(): void {
    const fd = this.#fd
    this.#fd = undefined
    if (fd === undefined) return
    if (fd === this.#syncingFd) this.#retiredFd = fd
    else closeFile(fd)
  }

  #compact(): void {
    const chunks: Uint8Array[] = []
    let bytes = 0
    for (const [key, value] of this.#entries) {
      const keyBytes = encoder.encode(key)
      const payload = new Uint8Array(5 + keyBytes.byteLength + value.byteLength)
      payload[0] = SET
      new DataView(payload.buffer).setUint32(1, keyBytes.byteLength, true)
      payload.set(keyBytes, 5)
      payload.set(value, 5 + keyBytes.byteLength)
      const f = frame(payload)
      chunks.push(f)
      bytes += f.byteLength
    }
    this.#retire()
    replaceFile(this.#path, chunks)
    this.#fd = openAppend(this.#path)
    this.#fileBytes = bytes
  }
}

/** Bytes of a set record, an estimate for compaction (keys counted as UTF-16 length). */
function recordSize(key: string, value: Uint8Array): number {
  return FRAME_HEADER + 5 + key.length + value.byteLength
}
