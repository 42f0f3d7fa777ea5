/**
 * Incremental MQTT packet splitter for the load generators. Packets are reported as (buffer,
 * offset, size) of their variable header + payload, so counting deliveries allocates nothing;
 * only a packet straddling two reads is stitched together (and only that packet is copied).
 *
 * @module
 */

/**
 * Called once per complete packet: `type` and `flags` are the two nibbles of the first byte, the
 * rest of the packet is `buf[offset, offset + size)`. The buffer may be reused after the call.
 */
export type PacketHandler = (type: number, flags: number, buf: Uint8Array, offset: number, size: number) => void

/**
 * Whole length (fixed header included) of the packet starting at `off`, or -1 when fewer bytes
 * than its fixed header are available. Throws on a Remaining Length longer than 4 bytes.
 */
export function packetLength(buf: Uint8Array, off: number, end: number): number {
  let len = 0
  let mul = 1
  // The Remaining Length is 1 to 4 bytes [MQTT-2.2.3]: at most 4 iterations.
  for (let i = 1; i <= 4; i++) {
    if (off + i >= end) return -1
    const b = buf[off + i]!
    len += (b & 0x7f) * mul
    if ((b & 0x80) === 0) return 1 + i + len
    mul *= 128
  }
  throw new Error(`Malformed Remaining Length at offset ${off}`)
}

export class PacketReader {
  #onPacket: PacketHandler
  /** Bytes of an incomplete packet carried over from the previous chunk. */
  #rest: Uint8Array | null = null

  constructor(onPacket: PacketHandler) {
    this.#onPacket = onPacket
  }

  push(chunk: Uint8Array): void {
    let start = 0
    if (this.#rest !== null) {
      start = this.#finishRest(chunk)
      if (start < 0) return
    }
    this.#scan(chunk, start)
  }

  /** Completes the carried-over packet from the head of `chunk`; returns bytes used, -1 if short. */
  #finishRest(chunk: Uint8Array): number {
    const rest = this.#rest!
    // The fixed header is at most 5 bytes: take just enough of the chunk to read it.
    const head = rest.length >= 5 ? rest : join(rest, chunk.subarray(0, 5 - rest.length))
    const total = packetLength(head, 0, head.length)
    const need = total - rest.length
    if (total < 0 || chunk.length < need) {
      this.#rest = join(rest, chunk)
      return -1
    }
    const whole = join(rest, chunk.subarray(0, need))
    this.#rest = null
    this.#scan(whole, 0)
    return need
  }

  #scan(buf: Uint8Array, from: number): void {
    let off = from
    const end = buf.length
    // Each iteration consumes one whole packet, so the loop is bounded by the buffer length.
    while (end - off >= 2) {
      const b1 = buf[off + 1]!
      // Fast path for the usual 1-byte Remaining Length.
      const total = b1 < 0x80 ? 2 + b1 : packetLength(buf, off, end)
      if (total < 0 || end - off < total) break
      const head = b1 < 0x80 ? 2 : total - remainingOf(buf, off)
      const b0 = buf[off]!
      this.#onPacket(b0 >> 4, b0 & 0x0f, buf, off + head, total - head)
      off += total
    }
    // Copy the tail: Bun may reuse the chunk's memory for the next read.
    if (off < end) this.#rest = buf.slice(off)
  }
}

/** Remaining Length of a packet whose fixed header is known to be complete. */
function remainingOf(buf: Uint8Array, off: number): number {
  let len = 0
  let mul = 1
  for (let i = 1; i <= 4; i++) {
    const b = buf[off + i]!
    len += (b & 0x7f) * mul
    if ((b & 0x80) === 0) break
    mul *= 128
  }
  return len
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
