/**
 * Incremental AMQP frame splitter for the load generators. Frames that sit wholly inside one chunk
 * are handed out as views (no copy); only a frame straddling chunks is stitched together.
 *
 * @module
 */

import { FRAME_END, FRAME_OVERHEAD } from './frames.ts'

/**
 * Called once per complete frame. `payload` is a view into a buffer that may be reused after the
 * callback returns: copy what must outlive it.
 */
export type FrameHandler = (type: number, channel: number, payload: Uint8Array, view: DataView, payloadOffset: number) => void

export class FrameReader {
  #onFrame: FrameHandler
  /** Bytes of an incomplete frame carried over from the previous chunk. */
  #rest: Uint8Array | null = null

  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame
  }

  push(chunk: Uint8Array): void {
    let buf = chunk
    if (this.#rest !== null) {
      const joined = new Uint8Array(this.#rest.length + chunk.length)
      joined.set(this.#rest)
      joined.set(chunk, this.#rest.length)
      buf = joined
      this.#rest = null
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    let off = 0
    const end = buf.length
    // Each iteration consumes one whole frame, so the loop is bounded by the chunk length.
    while (end - off >= 7) {
      const size = view.getUint32(off + 3)
      const total = size + FRAME_OVERHEAD
      if (end - off < total) break
      if (buf[off + total - 1] !== FRAME_END) throw new Error(`Bad frame end at offset ${off}: 0x${buf[off + total - 1]!.toString(16)}`)
      this.#onFrame(buf[off]!, view.getUint16(off + 1), buf.subarray(off + 7, off + 7 + size), view, off + 7)
      off += total
    }
    // Copy the tail: Bun may reuse the chunk's memory for the next read.
    if (off < end) this.#rest = buf.slice(off)
  }
}
