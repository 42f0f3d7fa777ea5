/**
 * Encoders for the handful of AMQP 0-9-1 frames the load generators send. Deliberately not the
 * broker's codec: the benchmark must measure the broker, so the client is separate, tiny and
 * checked against RabbitMQ.
 *
 * @module
 */

export const FRAME_METHOD = 1
export const FRAME_HEADER = 2
export const FRAME_BODY = 3
export const FRAME_HEARTBEAT = 8
export const FRAME_END = 0xce

/** Protocol header: "AMQP" 0 0 9 1. */
export const PROTOCOL_HEADER: Uint8Array = new Uint8Array([65, 77, 81, 80, 0, 0, 9, 1])

/** Bytes a frame adds around its payload: type, channel, size, frame-end. */
export const FRAME_OVERHEAD = 8

const utf8 = new TextEncoder()

/** A growable big-endian writer for method arguments (setup path only, not per message). */
export class ArgWriter {
  #buf = new Uint8Array(256)
  #view = new DataView(this.#buf.buffer)
  #pos = 0
  #bits = 0
  #bitCount = 0

  #ensure(n: number): void {
    this.#flushBits()
    if (this.#pos + n <= this.#buf.length) return
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n))
    next.set(this.#buf.subarray(0, this.#pos))
    this.#buf = next
    this.#view = new DataView(next.buffer)
  }

  // Consecutive bit fields share one octet (AMQP 0-9-1 §4.2.5.2); any other field ends the run.
  #flushBits(): void {
    if (this.#bitCount === 0) return
    this.#bitCount = 0
    if (this.#pos + 1 > this.#buf.length) this.#ensure(1)
    this.#buf[this.#pos++] = this.#bits
    this.#bits = 0
  }

  u8(v: number): this {
    this.#ensure(1)
    this.#buf[this.#pos++] = v
    return this
  }
  u16(v: number): this {
    this.#ensure(2)
    this.#view.setUint16(this.#pos, v)
    this.#pos += 2
    return this
  }
  u32(v: number): this {
    this.#ensure(4)
    this.#view.setUint32(this.#pos, v)
    this.#pos += 4
    return this
  }
  u64(v: number): this {
    this.#ensure(8)
    this.#view.setBigUint64(this.#pos, BigInt(v))
    this.#pos += 8
    return this
  }
  bit(v: boolean): this {
    if (this.#bitCount === 8) this.#flushBits()
    if (v) this.#bits |= 1 << this.#bitCount
    this.#bitCount++
    return this
  }
  shortstr(s: string): this {
    const bytes = utf8.encode(s)
    if (bytes.length > 255) throw new RangeError(`Cannot encode shortstr: ${bytes.length} bytes`)
    this.u8(bytes.length)
    this.#ensure(bytes.length)
    this.#buf.set(bytes, this.#pos)
    this.#pos += bytes.length
    return this
  }
  longstr(bytes: Uint8Array): this {
    this.u32(bytes.length)
    this.#ensure(bytes.length)
    this.#buf.set(bytes, this.#pos)
    this.#pos += bytes.length
    return this
  }
  /** Field table of strings, booleans, 32-bit ints and nested tables: all the client sends. */
  table(t: Record<string, string | boolean | number | Record<string, boolean>>): this {
    const inner = new ArgWriter()
    for (const [k, v] of Object.entries(t)) {
      inner.shortstr(k)
      if (typeof v === 'string') inner.u8(0x53).longstr(utf8.encode(v))
      else if (typeof v === 'boolean') inner.u8(0x74).u8(v ? 1 : 0)
      else if (typeof v === 'number') inner.u8(0x49).u32(v >>> 0)
      else inner.u8(0x46).table(v)
    }
    return this.longstr(inner.bytes())
  }
  bytes(): Uint8Array {
    this.#flushBits()
    return this.#buf.subarray(0, this.#pos)
  }
}

/** One method frame. `args` may be omitted for argument-less methods. */
export function methodFrame(channel: number, classId: number, methodId: number, args?: ArgWriter): Uint8Array {
  const a = args ? args.bytes() : new Uint8Array(0)
  const out = new Uint8Array(FRAME_OVERHEAD + 4 + a.length)
  const v = new DataView(out.buffer)
  out[0] = FRAME_METHOD
  v.setUint16(1, channel)
  v.setUint32(3, 4 + a.length)
  v.setUint16(7, classId)
  v.setUint16(9, methodId)
  out.set(a, 11)
  out[out.length - 1] = FRAME_END
  return out
}

export interface PublishProps {
  /** 2 = persistent. */
  deliveryMode?: number
}

/**
 * basic.publish + content header + body frame(s) for one message, as one buffer. The caller
 * copies it into batches; bodies larger than frameMax are split as the spec requires.
 */
export function publishFrames(
  channel: number,
  exchange: string,
  routingKey: string,
  body: Uint8Array,
  props: PublishProps = {},
  frameMax = 131072,
): Uint8Array {
  const method = methodFrame(channel, 60, 40, new ArgWriter().u16(0).shortstr(exchange).shortstr(routingKey).bit(false).bit(false))
  const hdr = new ArgWriter().u16(60).u16(0).u64(body.length)
  if (props.deliveryMode !== undefined) hdr.u16(0x1000).u8(props.deliveryMode)
  else hdr.u16(0)
  const header = rawFrame(FRAME_HEADER, channel, hdr.bytes())
  const maxBody = frameMax - FRAME_OVERHEAD
  const parts: Uint8Array[] = [method, header]
  for (let off = 0; off < body.length; off += maxBody) {
    parts.push(rawFrame(FRAME_BODY, channel, body.subarray(off, Math.min(body.length, off + maxBody))))
  }
  return concat(parts)
}

/** Wraps a payload in a frame of the given type. */
export function rawFrame(type: number, channel: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_OVERHEAD + payload.length)
  const v = new DataView(out.buffer)
  out[0] = type
  v.setUint16(1, channel)
  v.setUint32(3, payload.length)
  out.set(payload, 7)
  out[out.length - 1] = FRAME_END
  return out
}

/** Size of one basic.ack frame: the consumer writes these in batches. */
export const ACK_FRAME_SIZE = FRAME_OVERHEAD + 4 + 8 + 1

/** Writes basic.ack(tag, multiple) for `channel` into `out` at `offset`; returns the next offset. */
export function writeAck(out: Uint8Array, view: DataView, offset: number, channel: number, tag: number, multiple: boolean): number {
  out[offset] = FRAME_METHOD
  view.setUint16(offset + 1, channel)
  view.setUint32(offset + 3, 13)
  view.setUint16(offset + 7, 60)
  view.setUint16(offset + 9, 80)
  // Delivery tags stay far below 2^53 in a bounded run; split into two 32-bit halves.
  view.setUint32(offset + 11, Math.floor(tag / 0x100000000))
  view.setUint32(offset + 15, tag >>> 0)
  out[offset + 19] = multiple ? 1 : 0
  out[offset + 20] = FRAME_END
  return offset + ACK_FRAME_SIZE
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}
