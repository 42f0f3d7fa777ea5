/**
 * Reading a queue's directory back after a restart or a crash: every message record of every
 * segment that no ack record covers, in file order (= enqueue order). A torn tail (the append a
 * crash interrupted) is cut off with one warning; damage in the middle of a file is skipped with
 * an error naming the file, and everything around it still recovers.
 *
 * @module
 */
import { join } from 'node:path'
import { log } from '../log.ts'
import { listDir, readWhole, removeFile, renameFile, truncateFile } from '../runtime/fs.ts'
import { FRAME_HEADER, type FrameProblem, scanFrames } from './frame.ts'
import { readMeta, type RecordMeta } from './message_codec.ts'
import { readDeliveredMark } from './delivered_mark.ts'
import { RECORD_ACK, Segment } from './segment.ts'

const SEGMENT_FILE = /^(\d{10})\.(seg|ack)$/

export interface RecoveredDir {
  /** Segments that still hold unsettled records, by id. */
  segments: Map<number, Segment>
  /** The id the next new segment gets (never append to a recovered one). */
  nextSegmentId: number
  /** Highest sequence number seen (0 if none). */
  maxSeq: number
  /** Every record with seq <= this may have been delivered (Infinity: unknown, assume all). */
  deliveredMark: number
}

/** Calls `onRecord` for each unsettled message record, in order; `payload` views `buf`. */
export type OnRecord = (segment: Segment, offset: number, length: number, meta: RecordMeta, payload: Uint8Array) => void

export function recoverQueueDir(dir: string, onRecord: OnRecord): RecoveredDir {
  const ids = new Set<number>()
  for (const name of listDir(dir)) {
    const match = SEGMENT_FILE.exec(name)
    if (match !== null) ids.add(Number(match[1]))
    else if (name !== 'delivered' && name !== 'queue.json' && !name.endsWith('.corrupt')) log.warn('Ignoring an unknown file in a queue directory', { file: join(dir, name) })
  }
  const segments = new Map<number, Segment>()
  let maxSeq = 0
  let nextSegmentId = 1
  for (const id of [...ids].sort((a, b) => a - b)) {
    nextSegmentId = id + 1
    const segment = new Segment(dir, id)
    const acked = readAcks(segment.ackPath)
    const buf = readWhole(segment.path)
    if (buf === undefined) {
      // An ack file whose segment is gone: a crash between the two unlinks.
      removeFile(segment.ackPath)
      continue
    }
    const result = scanFrames(buf, 0, (payload, offset) => {
      const meta = readMeta(payload)
      if (meta === undefined) {
        log.error('Skipping an unreadable record in a segment file', { file: segment.path, offset })
        return
      }
      if (meta.seq > maxSeq) maxSeq = meta.seq
      // A paged-out transient message does not outlive the broker.
      if (acked.has(offset) || meta.transient) return
      segment.live++
      onRecord(segment, offset, FRAME_HEADER + payload.byteLength, meta, payload)
    })
    report(segment.path, result.problems, result.end)
    segment.size = segment.written = result.end
    if (segment.live > 0) segments.set(id, segment)
    else if (result.problems.some((p) => p.kind === 'corrupt')) keepCorrupt(segment)
    else segment.remove()
  }
  const deliveredMark = readDeliveredMark(dir)
  return { segments, nextSegmentId, maxSeq, deliveredMark }
}

/** Offsets settled in a segment, from its ack file (cutting a torn tail off it). */
function readAcks(path: string): Set<number> {
  const acked = new Set<number>()
  const buf = readWhole(path)
  if (buf === undefined) return acked
  const result = scanFrames(buf, 0, (payload, offset) => {
    if (payload[0] !== RECORD_ACK || (payload.byteLength - 1) % 4 !== 0) {
      log.error('Skipping an unreadable record in an ack file', { file: path, offset })
      return
    }
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    for (let p = 1; p < payload.byteLength; p += 4) acked.add(view.getUint32(p, true))
  })
  report(path, result.problems, result.end)
  return acked
}

/** A damaged segment with nothing left to recover is kept aside for inspection, not deleted. */
function keepCorrupt(segment: Segment): void {
  renameFile(segment.path, `${segment.path}.corrupt`)
  removeFile(segment.ackPath)
}

/** One line per problem; a torn tail is also cut off so later appends follow good data. */
export function report(file: string, problems: readonly FrameProblem[], end: number): void {
  for (const p of problems) {
    if (p.kind === 'torn') {
      log.warn('Dropped a torn record at the end of a data file (an interrupted write)', { file, offset: p.offset, bytes: p.bytes })
      truncateFile(file, end)
    } else {
      log.error('Corrupt data file: skipped unreadable bytes, the rest is recovered', { file, offset: p.offset, bytes: p.bytes })
    }
  }
}
