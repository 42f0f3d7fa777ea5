/**
 * Splits the byte stream into whole MQTT packets and enforces the maximum packet size from the
 * fixed header, before a byte of the body is buffered (mqtt-packet's parser has no cap).
 *
 * Packets that lie inside one chunk are handed on as subarrays of it (no copy); only a packet
 * that spans chunks is assembled, in a buffer of exactly its size. An idle connection holds no
 * buffer at all.
 *
 * @module
 */

/** Receives each whole packet, in order. */
export interface PacketSink {
  handlePacket(packet: Uint8Array): void
}

/** Why the stream cannot be read on. */
export type ReadError = 'malformed-length' | 'too-large'

const NEED_MORE = -1
const MALFORMED = -2

export class PacketReader {
  /** Largest whole packet (fixed header included) accepted, in bytes. */
  maxPacketSize: number
  /** Size of the packet refused with 'too-large'. */
  refusedSize = 0
  /** Up to 5 bytes of a fixed header split across chunks. */
  #head: Uint8Array | undefined
  #headLength = 0
  /** A packet spanning chunks, and how much of it has arrived. */
  #partial: Uint8Array | undefined
  #filled = 0
  #stopped = false

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize
  }

  /** Drops what is buffered; later chunks are ignored. */
  stop(): void {
    this.#stopped = true
    this.#partial = undefined
    this.#head = undefined
  }

  /**
   * Feeds one chunk; hands each complete packet to `sink`, in order. Returns an error when the
   * stream is broken (nothing more is read then).
   */
  push(chunk: Uint8Array, sink: PacketSink): ReadError | undefined {
    if (this.#stopped) return undefined
    const end = chunk.length
    let pos = 0
    if (this.#headLength > 0) {
      const head = this.#head!
      // Bounded: at most 5 header bytes.
      while (pos < end && this.#headLength < 5) {
        const b = chunk[pos++]!
        head[this.#headLength++] = b
        if (this.#headLength >= 2 && (b & 0x80) === 0) break
      }
      const total = this.#header(head, 0, this.#headLength)
      if (total === NEED_MORE) return undefined
      if (total === MALFORMED) return this.#fail('malformed-length')
      if (total > this.maxPacketSize) return this.#tooLarge(total)
      const partial = new Uint8Array(total)
      partial.set(head.subarray(0, this.#headLength))
      this.#filled = this.#headLength
      this.#headLength = 0
      this.#partial = partial
    }
    if (this.#partial !== undefined) {
      const partial = this.#partial
      const n = Math.min(partial.length - this.#filled, end - pos)
      partial.set(chunk.subarray(pos, pos + n), this.#filled)
      this.#filled += n
      pos += n
      if (this.#filled < partial.length) return undefined
      this.#partial = undefined
      sink.handlePacket(partial)
    }
    // Bounded: every pass consumes at least the 2-byte fixed header.
    while (pos < end && !this.#stopped) {
      const total = this.#header(chunk, pos, end)
      if (total === MALFORMED) return this.#fail('malformed-length')
      if (total === NEED_MORE) {
        this.#head ??= new Uint8Array(5)
        this.#head.set(chunk.subarray(pos, end))
        this.#headLength = end - pos
        return undefined
      }
      if (total > this.maxPacketSize) return this.#tooLarge(total)
      if (pos + total <= end) {
        const packet = chunk.subarray(pos, pos + total)
        pos += total
        sink.handlePacket(packet)
        continue
      }
      const partial = new Uint8Array(total)
      partial.set(chunk.subarray(pos, end))
      this.#partial = partial
      this.#filled = end - pos
      return undefined
    }
    return undefined
  }

  /** The whole packet's size from the fixed header at `start`, NEED_MORE or MALFORMED. */
  #header(bytes: Uint8Array, start: number, end: number): number {
    let value = 0
    let multiplier = 1
    // The Remaining Length takes at most four bytes [MQTT-2.2.3].
    for (let i = 1; i <= 4; i++) {
      if (start + i >= end) return NEED_MORE
      const b = bytes[start + i]!
      value += (b & 0x7f) * multiplier
      if ((b & 0x80) === 0) return value + i + 1
      multiplier *= 128
    }
    return MALFORMED
  }

  #tooLarge(total: number): ReadError {
    this.refusedSize = total
    return this.#fail('too-large')
  }

  #fail(error: ReadError): ReadError {
    this.stop()
    return error
  }
}

/** Where the variable header starts in a whole packet (after the 2 to 5 byte fixed header). */
export function bodyOffset(packet: Uint8Array): number {
  let i = 1
  // Bounded: a whole packet's Remaining Length has at most four bytes.
  while (i < 5 && (packet[i]! & 0x80) !== 0) i++
  return i + 1
}
