/**
 * One segment of a queue's message log: `<id>.seg` (message records, appended, never rewritten)
 * and `<id>.ack` (ack records: the offsets of the segment's records that were settled). Both
 * go once every record of the segment is settled.
 *
 * @module
 */
import { join } from 'node:path'
import { appendAll, closeFile, openAppend, openAppendRead, readAt, removeFile, truncateFd } from '../runtime/fs.ts'
import type { EntryLoader } from './disk_entry.ts'
import { FRAME_HEADER, writeFrameHeader } from './frame.ts'

/** Ack record payload type. */
export const RECORD_ACK = 2

export function segmentName(id: number): string {
  return String(id).padStart(10, '0')
}

export class Segment {
  readonly id: number
  readonly path: string
  readonly ackPath: string
  /** Bytes in the file plus bytes buffered for it: the offset of the next record. */
  size = 0
  /** Bytes actually in the file. */
  written = 0
  /** Records not yet settled. */
  live = 0
  /** Offsets settled since the last ack write. */
  acks: number[] = []
  /** In the sync round now running. */
  syncing = false
  deleted = false
  /** Reads this segment's records back for their entries (set by the owning store). */
  loader: EntryLoader | undefined
  #fd: number | undefined
  /** The ack file, open from the first ack write until `release` (acks are never synced). */
  #ackFd: number | undefined

  constructor(dir: string, id: number, loader?: EntryLoader) {
    this.id = id
    this.loader = loader
    const name = segmentName(id)
    this.path = join(dir, `${name}.seg`)
    this.ackPath = join(dir, `${name}.ack`)
  }

  /** The descriptor (append + positional reads), opened on first use. */
  get fd(): number {
    this.#fd ??= openAppendRead(this.path)
    return this.#fd
  }

  /** The descriptor if open (sync rounds never reopen a closed file). */
  get openFd(): number | undefined {
    return this.#fd
  }

  /** Appends `chunks`; on failure cuts the file back so offsets stay right. Returns bytes. */
  append(chunks: readonly Uint8Array[]): number {
    const fd = this.fd
    try {
      const n = appendAll(fd, chunks)
      this.written += n
      return n
    } catch (error) {
      try {
        // A partial record would shift every later offset; drop it and retry whole.
        truncateFd(fd, this.written)
      } catch {
        // The retry will fail the same way and be logged.
      }
      throw error
    }
  }

  /** Reads `length` bytes at `offset` (paging a record back in). */
  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length)
    const n = readAt(this.fd, buf, offset)
    return n === length ? buf : buf.subarray(0, n)
  }

  /** Writes the buffered acks as one record. */
  writeAcks(): void {
    const acks = this.acks
    if (acks.length === 0 || this.deleted) return
    const payload = new Uint8Array(1 + 4 * acks.length)
    const view = new DataView(payload.buffer)
    payload[0] = RECORD_ACK
    for (let i = 0; i < acks.length; i++) view.setUint32(1 + 4 * i, acks[i]!, true)
    const header = new Uint8Array(FRAME_HEADER)
    writeFrameHeader(header, 0, [payload])
    this.#ackFd ??= openAppend(this.ackPath)
    appendAll(this.#ackFd, [header, payload])
    this.acks = []
  }

  /** Closes the descriptors (the segment's only once no sync round needs it). */
  release(): void {
    if (this.#ackFd !== undefined) closeFile(this.#ackFd)
    this.#ackFd = undefined
    if (this.#fd === undefined || this.syncing) return
    closeFile(this.#fd)
    this.#fd = undefined
  }

  /** Deletes both files; the descriptor closes now or after the running sync. */
  remove(): void {
    this.deleted = true
    this.acks = []
    removeFile(this.path)
    removeFile(this.ackPath)
    this.release()
  }
}
