/**
 * Encoders for the few MQTT 3.1.1 packets the load generators send. Written by hand, like
 * bench/amqp/frames.ts, so the benchmark never measures the broker's own codec (mqtt-packet)
 * against itself, and so a PUBLISH can be encoded once and copied into large batches.
 *
 * @module
 */

/** Control packet types [MQTT-2.2.1]. */
export const CONNECT = 1
export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const SUBSCRIBE = 8
export const SUBACK = 9
export const PINGREQ = 12
export const PINGRESP = 13
export const DISCONNECT = 14

/** Protocol level of MQTT 3.1.1. */
export const MQTT_311 = 4

const utf8 = new TextEncoder()

/** Bytes the Remaining Length varint of `n` takes (1-4) [MQTT-2.2.3]. */
export function varintSize(n: number): number {
  if (n < 0 || n > 268_435_455) throw new RangeError(`Remaining Length out of range: ${n}`)
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

/** Writes the Remaining Length varint of `n` at `offset`; returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, n: number): number {
  varintSize(n)
  // At most 4 iterations: the range check above bounds n.
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out[offset++] = b
  } while (n > 0)
  return offset
}

/** A whole packet: fixed header (type, flags, Remaining Length) then `body`. */
export function packet(type: number, flags: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + varintSize(body.length) + body.length)
  out[0] = (type << 4) | (flags & 0x0f)
  out.set(body, writeVarint(out, 1, body.length))
  return out
}

/** A UTF-8 string with its 2-byte length prefix [MQTT-1.5.3]. */
function str(s: string): Uint8Array {
  const b = utf8.encode(s)
  if (b.length > 0xffff) throw new RangeError(`String too long for MQTT: ${b.length} bytes`)
  const out = new Uint8Array(2 + b.length)
  out[0] = b.length >> 8
  out[1] = b.length & 0xff
  out.set(b, 2)
  return out
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
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

export interface ConnectOptions {
  clientId: string
  /** Seconds; 0 turns keep alive off. */
  keepalive?: number
  /** Clean Session flag (default true). */
  clean?: boolean
  username?: string
  password?: string
}

/** CONNECT for MQTT 3.1.1 (no will). */
export function connectPacket(opts: ConnectOptions): Uint8Array {
  const keepalive = opts.keepalive ?? 0
  let flags = opts.clean === false ? 0 : 0x02
  if (opts.username !== undefined) flags |= 0x80
  if (opts.password !== undefined) flags |= 0x40
  const parts = [str('MQTT'), new Uint8Array([MQTT_311, flags, keepalive >> 8, keepalive & 0xff]), str(opts.clientId)]
  if (opts.username !== undefined) parts.push(str(opts.username))
  if (opts.password !== undefined) parts.push(str(opts.password))
  return packet(CONNECT, 0, concat(parts))
}

/**
 * PUBLISH of `payload` to `topic`. For QoS 1 the packet id sits at `idOffset` (2 bytes, big
 * endian), so a pre-encoded batch can be renumbered in place with `setPacketId`.
 */
export function publishPacket(topic: string, payload: Uint8Array, qos: 0 | 1, packetId = 1): { bytes: Uint8Array; idOffset: number } {
  const t = str(topic)
  const idBytes = qos > 0 ? 2 : 0
  const remaining = t.length + idBytes + payload.length
  const head = 1 + varintSize(remaining)
  const out = new Uint8Array(head + remaining)
  out[0] = (PUBLISH << 4) | (qos << 1)
  writeVarint(out, 1, remaining)
  out.set(t, head)
  const idOffset = qos > 0 ? head + t.length : -1
  if (qos > 0) setPacketId(out, idOffset, packetId)
  out.set(payload, head + t.length + idBytes)
  return { bytes: out, idOffset }
}

/** Writes a 2-byte packet identifier at `offset`. */
export function setPacketId(out: Uint8Array, offset: number, id: number): void {
  out[offset] = id >> 8
  out[offset + 1] = id & 0xff
}

/** SUBSCRIBE to one topic filter at the given maximum QoS. */
export function subscribePacket(packetId: number, filter: string, qos: 0 | 1): Uint8Array {
  return packet(SUBSCRIBE, 0x02, concat([new Uint8Array([packetId >> 8, packetId & 0xff]), str(filter), new Uint8Array([qos])]))
}

/** Size of one PUBACK: the subscriber writes these in batches. */
export const PUBACK_SIZE = 4

/** Writes PUBACK(id) into `out` at `offset`; returns the next offset. */
export function writePuback(out: Uint8Array, offset: number, id: number): number {
  out[offset] = PUBACK << 4
  out[offset + 1] = 2
  out[offset + 2] = id >> 8
  out[offset + 3] = id & 0xff
  return offset + PUBACK_SIZE
}

export const PINGREQ_PACKET: Uint8Array = new Uint8Array([PINGREQ << 4, 0])
export const DISCONNECT_PACKET: Uint8Array = new Uint8Array([DISCONNECT << 4, 0])

/**
 * Packet id of a QoS > 0 PUBLISH whose variable header starts at `offset` in `buf`: it follows
 * the topic name (MQTT 3.1.1; a v5 packet would add properties after it, not before).
 */
export function publishPacketId(buf: Uint8Array, offset: number): number {
  const idAt = offset + 2 + ((buf[offset]! << 8) | buf[offset + 1]!)
  return (buf[idAt]! << 8) | buf[idAt + 1]!
}
