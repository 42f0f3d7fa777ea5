/**
 * The one record framing of every Warren data file (segments, ack logs, definitions, key-value
 * logs):
 *
 * ```
 * u32 LE  magic 0x314E5257 ("WRN1")
 * u32 LE  CRC-32 of the next 4 + N bytes (the length field and the payload)
 * u32 LE  payload length N
 * N bytes payload
 * ```
 *
 * The checksum covers the length, so a flipped length is caught like a flipped payload byte.
 * The magic lets a reader find the next record after a damaged one instead of losing the rest
 * of the file. `scanFrames` tells a torn tail (the last record cut short or never completed:
 * an interrupted write, dropped silently but for one log line) from corruption (a bad record
 * with good data after it, or garbage: reported as an error naming the file).
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { crc32 } from './crc32.ts'

export const FRAME_MAGIC = 0x314e5257
export const FRAME_HEADER = 12
const MAGIC_BYTES = Buffer.from([0x57, 0x52, 0x4e, 0x31])

/**
 * Fills the 12-byte frame header at `out[at..]` for a payload made of `parts` (not copied: the
 * caller writes header and parts with one writev).
 */
export function writeFrameHeader(out: Uint8Array, at: number, parts: readonly Uint8Array[]): void {
  let length = 0
  for (const part of parts) length += part.byteLength
  const view = new DataView(out.buffer, out.byteOffset + at, FRAME_HEADER)
  view.setUint32(0, FRAME_MAGIC, true)
  view.setUint32(8, length, true)
  let crc = crc32(out.subarray(at + 8, at + 12))
  for (const part of parts) crc = crc32(part, crc)
  view.setUint32(4, crc, true)
}

/** One framed record in a fresh buffer (small, rare records: definitions, key-value). */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.byteLength)
  out.set(payload, FRAME_HEADER)
  writeFrameHeader(out, 0, [payload])
  return out
}

/** Damage found while scanning: where it starts and how many bytes it covers. */
export interface FrameProblem {
  kind: 'torn' | 'corrupt'
  offset: number
  bytes: number
}

export interface ScanResult {
  /** Offset just past the last good record: where a torn file is cut back to. */
  end: number
  /** At most one 'torn' (always last) and any number of 'corrupt' ranges, in file order. */
  problems: FrameProblem[]
}

/**
 * Calls `onRecord(payload, offset)` for each good record of `buf` from `start`, in order. The
 * payload is a view into `buf` (no copy). Bounded: every step moves forward at least one byte.
 */
export function scanFrames(
  buf: Uint8Array,
  start: number,
  onRecord: (payload: Uint8Array, offset: number) => void,
): ScanResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const size = buf.byteLength
  const problems: FrameProblem[] = []
  let pos = start
  let end = start
  while (pos < size) {
    const length = frameAt(buf, view, pos)
    if (length >= 0) {
      onRecord(buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + length), pos)
      pos += FRAME_HEADER + length
      end = pos
      continue
    }
    // A bad frame. Good data after it means corruption; nothing good after it, a torn tail.
    const next = nextFrame(buf, view, pos + 1)
    if (next < 0) {
      if (isTornTail(buf, view, pos)) problems.push({ kind: 'torn', offset: pos, bytes: size - pos })
      else problems.push({ kind: 'corrupt', offset: pos, bytes: size - pos })
      break
    }
    problems.push({ kind: 'corrupt', offset: pos, bytes: next - pos })
    pos = next
  }
  return { end, problems }
}

/** The payload length of a valid frame at `pos`, or -1. */
function frameAt(buf: Uint8Array, view: DataView, pos: number): number {
  if (buf.byteLength - pos < FRAME_HEADER || view.getUint32(pos, true) !== FRAME_MAGIC) return -1
  const length = view.getUint32(pos + 8, true)
  if (length > buf.byteLength - pos - FRAME_HEADER) return -1
  const crc = crc32(buf.subarray(pos + 8, pos + FRAME_HEADER + length))
  return crc === view.getUint32(pos + 4, true) ? length : -1
}

/** Offset of the next valid frame at or after `from`, or -1. */
function nextFrame(buf: Uint8Array, view: DataView, from: number): number {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  // Bounded: each candidate is past the previous one.
  for (let at = bytes.indexOf(MAGIC_BYTES, from); at >= 0; at = bytes.indexOf(MAGIC_BYTES, at + 1)) {
    if (frameAt(buf, view, at) >= 0) return at
  }
  return -1
}

/**
 * A bad frame with nothing good after it is a torn tail when it looks like an interrupted
 * append: a header cut short, a record running past the end of the file, a last record whose
 * bytes never all arrived (checksum off), or zeros the file system left behind. Anything else
 * (a wrong magic with data behind it) is garbage.
 */
function isTornTail(buf: Uint8Array, view: DataView, pos: number): boolean {
  const rest = buf.byteLength - pos
  if (isZero(buf, pos)) return true
  if (rest < FRAME_HEADER) return isMagicPrefix(buf, pos)
  if (view.getUint32(pos, true) !== FRAME_MAGIC) return false
  // Magic intact: the length runs past the end, or the record is the last and its bytes are bad.
  return true
}

function isZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.byteLength; i++) if (buf[i] !== 0) return false
  return true
}

function isMagicPrefix(buf: Uint8Array, pos: number): boolean {
  for (let i = 0; i < 4 && pos + i < buf.byteLength; i++) if (buf[pos + i] !== MAGIC_BYTES[i]) return false
  return true
}

/** The payload of the valid frame at `buf[at..]`, or undefined (paging a record back in). */
export function readFrame(buf: Uint8Array, at: number): Uint8Array | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const length = frameAt(buf, view, at)
  return length < 0 ? undefined : buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length)
}
