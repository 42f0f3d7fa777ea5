/**
 * A growable big-endian output buffer for the AMQP encoders.
 *
 * Bytes before `start` belong to someone else (handed to a socket by the FrameWriter) and are
 * never written again: when the buffer fills up, the bytes from `start` on move to a fresh
 * buffer instead of the old one being reused. Positions that must survive such a move (length
 * prefixes patched later) are kept relative to `start`, see `offset`.
 *
 * @module
 */

const encoder = new TextEncoder()
const TWO_32 = 0x100000000

export class ByteWriter {
  /** The current buffer; replaced (never reused) when it fills up. */
  bytes: Uint8Array
  /** A view over all of `bytes` (float and 64-bit writes). */
  view: DataView
  /** The next byte to write. */
  pos = 0
  /** The first byte not yet taken by `take()`. */
  start = 0
  readonly #minSize: number

  constructor(size = 65536) {
    this.#minSize = size
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
  }

  /** Position of the next byte relative to `start`; stays valid when the buffer is replaced. */
  get offset(): number {
    return this.pos - this.start
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.bytes.length) this.#grow(n)
  }

  #grow(n: number): void {
    const used = this.pos - this.start
    const next = new Uint8Array(Math.max(this.#minSize, 2 * (used + n)))
    next.set(this.bytes.subarray(this.start, this.pos))
    this.bytes = next
    this.view = new DataView(next.buffer)
    this.start = 0
    this.pos = used
  }

  /** Returns the bytes written since the last take (a view, not a copy) and starts a new run. */
  take(): Uint8Array {
    const out = this.bytes.subarray(this.start, this.pos)
    this.start = this.pos
    return out
  }

  octet(x: number): void {
    this.ensure(1)
    this.bytes[this.pos++] = x
  }

  short(x: number): void {
    this.ensure(2)
    const b = this.bytes
    const p = this.pos
    b[p] = x >>> 8
    b[p + 1] = x
    this.pos = p + 2
  }

  long(x: number): void {
    this.ensure(4)
    const b = this.bytes
    const p = this.pos
    b[p] = x >>> 24
    b[p + 1] = x >>> 16
    b[p + 2] = x >>> 8
    b[p + 3] = x
    this.pos = p + 4
  }

  /** An unsigned 64-bit value from a non-negative integer below 2^53. */
  longlong(x: number): void {
    this.ensure(8)
    const hi = Math.floor(x / TWO_32)
    const b = this.bytes
    const p = this.pos
    b[p] = hi >>> 24
    b[p + 1] = hi >>> 16
    b[p + 2] = hi >>> 8
    b[p + 3] = hi
    b[p + 4] = x >>> 24
    b[p + 5] = x >>> 16
    b[p + 6] = x >>> 8
    b[p + 7] = x
    this.pos = p + 8
  }

  /** Writes a 2-byte value at an `offset` taken earlier (property flags). */
  shortAt(offset: number, x: number): void {
    const p = this.start + offset
    this.bytes[p] = x >>> 8
    this.bytes[p + 1] = x
  }

  /** Writes a 4-byte value at an `offset` taken earlier (a length prefix). */
  longAt(offset: number, x: number): void {
    const b = this.bytes
    const p = this.start + offset
    b[p] = x >>> 24
    b[p + 1] = x >>> 16
    b[p + 2] = x >>> 8
    b[p + 3] = x
  }

  /** Length-prefixed (1 byte) UTF-8. Throws RangeError over 255 bytes. */
  shortstr(s: string): void {
    const len = s.length
    if (len > 255) throw new RangeError(`Cannot encode shortstr: ${len} characters, the limit is 255 bytes`)
    this.ensure(1 + len * 3)
    const at = this.pos
    const end = this.#utf8(s, at + 1)
    const n = end - at - 1
    if (n > 255) throw new RangeError(`Cannot encode shortstr: ${n} bytes, the limit is 255`)
    this.bytes[at] = n
    this.pos = end
  }

  /** Length-prefixed (4 bytes) UTF-8. */
  longstr(s: string): void {
    this.ensure(4 + s.length * 3)
    const at = this.pos
    const end = this.#utf8(s, at + 4)
    this.pos = at
    this.long(end - at - 4)
    this.pos = end
  }

  /** Length-prefixed (4 bytes) raw bytes: a longstr that is not text (SASL), field type 'x'. */
  longBytes(data: Uint8Array): void {
    this.long(data.length)
    this.raw(data)
  }

  /** Copies bytes in as they are. */
  raw(data: Uint8Array): void {
    this.ensure(data.length)
    this.bytes.set(data, this.pos)
    this.pos += data.length
  }

  float32(x: number): void {
    this.ensure(4)
    this.view.setFloat32(this.pos, x)
    this.pos += 4
  }

  float64(x: number): void {
    this.ensure(8)
    this.view.setFloat64(this.pos, x)
    this.pos += 8
  }

  int64(x: bigint): void {
    this.ensure(8)
    this.view.setBigInt64(this.pos, x)
    this.pos += 8
  }

  uint64(x: bigint): void {
    this.ensure(8)
    this.view.setBigUint64(this.pos, x)
    this.pos += 8
  }

  /**
   * Writes `s` as UTF-8 at `p` (room for 3 bytes per UTF-16 unit is ensured by the caller) and
   * returns the end. ASCII is copied by hand; the first non-ASCII character hands the rest to
   * encodeInto.
   */
  #utf8(s: string, p: number): number {
    const b = this.bytes
    for (let i = 0, len = s.length; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) {
        const rest = i === 0 ? s : s.slice(i)
        return p + encoder.encodeInto(rest, b.subarray(p)).written
      }
      b[p++] = c
    }
    return p
  }
}
