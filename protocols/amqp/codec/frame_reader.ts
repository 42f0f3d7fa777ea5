/**
 * Splits the incoming byte stream into the protocol header and frames.
 *
 * Zero-copy where it can be: a frame wholly inside a chunk is delivered as a subarray of that
 * chunk (socket chunks are fresh buffers, so the slice stays valid). Only a frame split across
 * chunks is copied, once, into a buffer of its exact size, allocated after its 7-byte header
 * passed the frame_max check.
 *
 * @module
 */
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, ReplyCode } from '../spec/generated.ts'
import { AmqpError, payloadSnippet } from './errors.ts'

export interface FrameHandler {
  /** The first 8 bytes of the stream, whatever they are (the adapter validates them). */
  onProtocolHeader(header: Uint8Array): void
  /** `payload` is a subarray, not a copy. Called on the read path; must not await. */
  onFrame(type: number, channel: number, payload: Uint8Array): void
}

const HEADER_SIZE = 7
const PROTOCOL_HEADER_SIZE = 8

/** RabbitMQ's text for frame errors: "type T, all octets = <<…>>: Reason". */
function frameError(type: number, payload: Uint8Array, reason: string): AmqpError {
  return new AmqpError(ReplyCode.FRAME_ERROR, `type ${type}, ${payloadSnippet(payload)}: ${reason}`)
}

export class FrameReader {
  /**
   * Largest frame accepted, in bytes, as negotiated by tune-ok; 0 = no limit beyond the 32-bit
   * size field. Like RabbitMQ, a payload of up to frameMax bytes is let through (clients
   * often forget the 8 bytes of framing).
   */
  frameMax: number
  readonly #handler: FrameHandler
  #sawProtocolHeader = false
  /** Bytes of a frame (or of the protocol header) that began in an earlier chunk. */
  #partial: Uint8Array | null = null
  #partialLength = 0
  #stopped = false
  readonly #head = new Uint8Array(PROTOCOL_HEADER_SIZE)

  constructor(handler: FrameHandler, opts: { frameMax: number }) {
    this.#handler = handler
    this.frameMax = opts.frameMax
  }

  /**
   * Stops delivering: the rest of the current chunk and all later input are ignored (the
   * connection is closing). Also happens when push throws.
   */
  stop(): void {
    this.#stopped = true
  }

  /**
   * Feeds the next chunk. Throws AmqpError 501 FRAME_ERROR (connection scope) for a frame over
   * frameMax (checked on its 7-byte header, before buffering the payload), a bad frame-end octet
   * or an unknown frame type; the reader then stops. A throwing handler stops it as well.
   */
  push(chunk: Uint8Array): void {
    if (this.#stopped) return
    try {
      let o = this.#sawProtocolHeader ? 0 : this.#readProtocolHeader(chunk)
      if (this.#partial !== null && o < chunk.length) o = this.#resume(chunk, o)
      // Every pass consumes at least one byte, so the loop ends with the chunk.
      while (o < chunk.length && !this.#stopped) o = this.#next(chunk, o)
    } catch (error) {
      this.#stopped = true
      throw error
    }
  }

  #readProtocolHeader(chunk: Uint8Array): number {
    const take = Math.min(PROTOCOL_HEADER_SIZE - this.#partialLength, chunk.length)
    this.#head.set(chunk.subarray(0, take), this.#partialLength)
    this.#partialLength += take
    if (this.#partialLength < PROTOCOL_HEADER_SIZE) return take
    this.#sawProtocolHeader = true
    this.#partialLength = 0
    this.#handler.onProtocolHeader(this.#head.slice())
    return take
  }

  /** Reads the frame starting at `o`; returns the offset after what it consumed. */
  #next(chunk: Uint8Array, o: number): number {
    const available = chunk.length - o
    if (available < HEADER_SIZE) {
      this.#partial = this.#head
      this.#head.set(chunk.subarray(o), 0)
      this.#partialLength = available
      return chunk.length
    }
    const size = this.#checkSize(chunk, o)
    const total = size + HEADER_SIZE + 1
    if (available >= total) {
      this.#deliver(chunk, o, size)
      return o + total
    }
    const frame = new Uint8Array(total)
    frame.set(chunk.subarray(o))
    this.#partial = frame
    this.#partialLength = available
    return chunk.length
  }

  /** Continues a frame begun in an earlier chunk; returns the offset after what it used. */
  #resume(chunk: Uint8Array, o: number): number {
    let partial = this.#partial!
    if (this.#partialLength < HEADER_SIZE) {
      const take = Math.min(HEADER_SIZE - this.#partialLength, chunk.length - o)
      partial.set(chunk.subarray(o, o + take), this.#partialLength)
      this.#partialLength += take
      o += take
      if (this.#partialLength < HEADER_SIZE) return o
      const size = this.#checkSize(partial, 0)
      const frame = new Uint8Array(size + HEADER_SIZE + 1)
      frame.set(partial.subarray(0, HEADER_SIZE))
      this.#partial = partial = frame
    }
    const take = Math.min(partial.length - this.#partialLength, chunk.length - o)
    partial.set(chunk.subarray(o, o + take), this.#partialLength)
    this.#partialLength += take
    o += take
    if (this.#partialLength === partial.length) {
      this.#partial = null
      this.#partialLength = 0
      this.#deliver(partial, 0, partial.length - HEADER_SIZE - 1)
    }
    return o
  }

  #checkSize(b: Uint8Array, o: number): number {
    const size = b[o + 3]! * 0x1000000 + ((b[o + 4]! << 16) | (b[o + 5]! << 8) | b[o + 6]!)
    const max = this.frameMax
    if (max !== 0 && size > max) {
      throw frameError(b[o]!, new Uint8Array(0), `{frame_too_large,${size},${max - 8}}`)
    }
    return size
  }

  #deliver(b: Uint8Array, o: number, size: number): void {
    const type = b[o]!
    const payload = b.subarray(o + HEADER_SIZE, o + HEADER_SIZE + size)
    const end = b[o + HEADER_SIZE + size]!
    if (end !== FRAME_END) throw frameError(type, payload, `{invalid_frame_end_marker,${end}}`)
    const known = type === FRAME_METHOD || type === FRAME_HEADER || type === FRAME_BODY || type === FRAME_HEARTBEAT
    // RabbitMQ only knows an empty heartbeat; one with a payload is an unknown frame too.
    if (!known || (type === FRAME_HEARTBEAT && size !== 0)) throw frameError(type, payload, 'unknown_frame')
    this.#handler.onFrame(type, (b[o + 1]! << 8) | b[o + 2]!, payload)
  }
}
