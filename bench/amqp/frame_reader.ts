/**
 * Incremental AMQP frame splitter for the load generators. Frames are reported as (buffer,
 * offset, size) so the hot path allocates nothing per frame; only a frame straddling two reads
 * is stitched together (and only that frame is copied, never the rest of the chunk).
 *
 * @module
 */

import { FRAME_END, FRAME_OVERHEAD } from './frames.ts'

/**
 * Called once per complete frame; the payload is `buf[offset, offset + size)`. The buffer may be
 * reused after the callback returns: copy what must outlive it.
 */
export type FrameHandler = (type: number, channel: number, buf: Uint8Array, view: DataView, offset: number, size: number) => void

export class FrameReader {
  #onFrame: FrameHandler
  /** Bytes of an incomplete frame carried over from the previous chunk. */
  #rest: Uint8Array | null = null

  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame
  }

  push(chunk: Uint8Array): void {
    let start = 0
    if (this.#rest !== null) {
      start = this.#finishRest(chunk)
      if (start < 0) return
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.#scan(chunk, view, start)
  }

  /** Completes the carried-over frame from the head of `chunk`; returns bytes used, -1 if short. */
  #finishRest(chunk: Uint8Array): number {
    const rest = this.#rest!
    // The 7-byte header decides the frame size; take just enough of the chunk to read it.
    const headNeed = Math.max(0, 7 - rest.length)
    if (chunk.length < headNeed) {
      this.#rest = join(rest, chunk)
      return -1
    }
    const head = headNeed > 0 ? join(rest, chunk.subarray(0, headNeed)) : rest
    const total = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(3) + FRAME_OVERHEAD
    const need = total - rest.length
    if (chunk.length < need) {
      this.#rest = join(rest, chunk)
      return -1
    }
    const frame = join(rest, chunk.subarray(0, need))
    this.#rest = null
    this.#scan(frame, new DataView(frame.buffer), 0)
    return need
  }

  #scan(buf: Uint8Array, view: DataView, from: number): void {
    let off = from
    const end = buf.length
    // Each iteration consumes one whole frame, so the loop is bounded by the buffer length.
    while (end - off >= 7) {
      const size = view.getUint32(off + 3)
      const total = size + FRAME_OVERHEAD
      if (end - off < total) break
      if (buf[off + total - 1] !== FRAME_END) throw new Error(`Bad frame end at offset ${off}: 0x${buf[off + total - 1]!.toString(16)}`)
      this.#onFrame(buf[off]!, view.getUint16(off + 1), buf, view, off + 7, size)
      off += total
    }
    // Copy the tail: Bun may reuse the chunk's memory for the next read.
    if (off < end) this.#rest = buf.slice(off)
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
