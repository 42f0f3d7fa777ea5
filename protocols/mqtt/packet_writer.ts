/**
 * Encodes outgoing MQTT packets into a batch that goes to the socket once per burst (the core's
 * flush, or the end of an incoming chunk): mqtt-packet's `writeToStream` for the rare packets
 * (CONNACK, SUBACK, UNSUBACK, DISCONNECT), hand-written encoders for the per-message ones
 * (PUBLISH, the four acknowledgements, PINGRESP).
 *
 * Memory: the batch buffer is allocated at the first write of a burst, sized from the previous
 * burst, and dropped at flush (the socket keeps the bytes it was handed), so an idle connection
 * holds no buffer. Payloads up to LARGE_PAYLOAD bytes are copied into the batch, which is the
 * socket write anyway; larger ones are handed to the socket as their own chunk, not copied.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { PublishProperties } from './properties.ts'

// mqtt-packet's default pre-builds 65,536 two-byte Buffers (several MiB) on first use for its
// packet-id writer; only the rare packets go through it here, so build them as needed.
mqttPacket.writeToStream.cacheNumbers = false

const LARGE_PAYLOAD = 16384
const MIN_BATCH = 256
const MAX_BATCH = 65536

/** PUBACK, PUBREC, PUBREL (flags 0010 [MQTT-3.6.1-1]), PUBCOMP. */
export const ACK = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const
export type AckType = (typeof ACK)[keyof typeof ACK]

/** A PUBLISH to encode; the topic is already the MQTT topic (or '' when an alias stands for it). */
export interface OutgoingPublish {
  topic: string
  payload: Uint8Array
  qos: 0 | 1 | 2
  dup: boolean
  retain: boolean
  /** 0 for QoS 0. */
  packetId: number
  /** v5 only. */
  properties: PublishProperties | undefined
}

function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4
}

function utf8Size(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

/** Size of the encoded properties block content (without its own length prefix). */
function propertiesSize(p: PublishProperties): number {
  let n = 0
  if (p.payloadFormatIndicator !== undefined) n += 2
  if (p.messageExpiryInterval !== undefined) n += 5
  if (p.contentType !== undefined) n += 3 + utf8Size(p.contentType)
  if (p.responseTopic !== undefined) n += 3 + utf8Size(p.responseTopic)
  if (p.correlationData !== undefined) n += 3 + p.correlationData.length
  const ids = p.subscriptionIdentifier
  if (ids !== undefined) {
    if (typeof ids === 'number') n += 1 + varintSize(ids)
    else for (const id of ids) n += 1 + varintSize(id)
  }
  if (p.topicAlias !== undefined) n += 3
  const user = p.userProperties
  if (user !== undefined) {
    for (const name in user) {
      const nameSize = 4 + utf8Size(name)
      const v = user[name]!
      if (typeof v === 'string') n += 1 + nameSize + utf8Size(v)
      else for (const item of v) n += 1 + nameSize + utf8Size(item)
    }
  }
  return n
}

export class PacketWriter {
  /** 3, 4 or 5: set from CONNECT; drives mqtt-packet's encoding. */
  protocolVersion = 4
  /** The client's Maximum Packet Size (v5 CONNECT); larger PUBLISH packets are not sent. */
  maxPacketSize = Number.POSITIVE_INFINITY
  readonly #sink: (chunk: Uint8Array) => boolean
  #buf: Buffer | undefined
  #start = 0
  #pos = 0
  #chunks: Uint8Array[] = []
  #burst = 0
  #hint = MIN_BATCH
  #error: Error | undefined

  /** `sink` is socket.write: it keeps each chunk and returns false when its buffer is full. */
  constructor(sink: (chunk: Uint8Array) => boolean) {
    this.#sink = sink
  }

  /** Whether anything waits for flush. */
  get pending(): boolean {
    return this.#chunks.length > 0 || this.#pos > this.#start
  }

  /** Encodes any packet with mqtt-packet (not for the hot path). Throws if it cannot be encoded. */
  encode(packet: Packet): void {
    const chunks = this.#chunks.length
    const start = this.#start
    const pos = this.#pos
    const buf = this.#buf
    const opts: { protocolVersion: number; maximumPacketSize?: number } = { protocolVersion: this.protocolVersion }
    if (Number.isFinite(this.maxPacketSize)) opts.maximumPacketSize = this.maxPacketSize
    mqttPacket.writeToStream(packet, this as unknown as NodeJS.WritableStream, opts)
    const error = this.#error
    if (error === undefined) return
    // Drop the half-written packet so the stream stays well-formed.
    this.#error = undefined
    this.#chunks.length = chunks
    this.#buf = buf
    this.#start = start
    this.#pos = pos
    throw error
  }

  /**
   * Encodes a PUBLISH. Returns false, writing nothing, when it would exceed the client's Maximum
   * Packet Size [MQTT-3.1.2-24]. Hot path.
   */
  publish(p: OutgoingPublish): boolean {
    const v5 = this.protocolVersion === 5
    const topicSize = utf8Size(p.topic)
    const props = v5 && p.properties !== undefined ? p.properties : undefined
    const propsSize = props === undefined ? 0 : propertiesSize(props)
    const payloadSize = p.payload.length
    const remaining = 2 + topicSize + (p.qos > 0 ? 2 : 0) + (v5 ? varintSize(propsSize) + propsSize : 0) + payloadSize
    const total = 1 + varintSize(remaining) + remaining
    if (total > this.maxPacketSize) return false
    const large = payloadSize > LARGE_PAYLOAD
    const b = this.#ensure(total - (large ? payloadSize : 0))
    let o = this.#pos
    b[o++] = 0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0)
    o = writeVarint(b, o, remaining)
    b[o++] = topicSize >>> 8
    b[o++] = topicSize & 0xff
    o += b.write(p.topic, o, 'utf8')
    if (p.qos > 0) {
      b[o++] = p.packetId >>> 8
      b[o++] = p.packetId & 0xff
    }
    if (v5) {
      o = writeVarint(b, o, propsSize)
      if (props !== undefined) o = writeProperties(b, o, props)
    }
    if (large) {
      this.#pos = o
      this.#seal()
      this.#chunks.push(p.payload)
      this.#burst += payloadSize
    } else {
      b.set(p.payload, o)
      this.#pos = o + payloadSize
    }
    this.#burst += total - (large ? payloadSize : 0)
    return true
  }

  /** PUBACK / PUBREC / PUBREL / PUBCOMP; a v5 reason code other than 0 is written out. Hot path. */
  ack(type: AckType, packetId: number, reasonCode = 0): void {
    const withReason = reasonCode !== 0 && this.protocolVersion === 5
    const b = this.#ensure(withReason ? 5 : 4)
    const o = this.#pos
    b[o] = type
    b[o + 1] = withReason ? 3 : 2
    b[o + 2] = packetId >>> 8
    b[o + 3] = packetId & 0xff
    if (withReason) b[o + 4] = reasonCode
    this.#pos = o + (withReason ? 5 : 4)
    this.#burst += withReason ? 5 : 4
  }

  pingresp(): void {
    const b = this.#ensure(2)
    b[this.#pos] = 0xd0
    b[this.#pos + 1] = 0
    this.#pos += 2
    this.#burst += 2
  }

  /** Hands the batch to the sink; returns the sink's last answer (true when nothing was pending). */
  flush(): boolean {
    this.#seal()
    const chunks = this.#chunks
    this.#buf = undefined
    this.#start = this.#pos = 0
    if (chunks.length === 0) return true
    this.#chunks = []
    const burst = this.#burst
    this.#burst = 0
    this.#hint = burst <= MIN_BATCH ? MIN_BATCH : burst >= MAX_BATCH ? MAX_BATCH : burst
    let ok = true
    for (let i = 0; i < chunks.length; i++) ok = this.#sink(chunks[i]!)
    return ok
  }

  /** Drops everything not yet flushed. */
  discard(): void {
    this.#chunks = []
    this.#buf = undefined
    this.#start = this.#pos = 0
    this.#burst = 0
  }

  // ---- the writable-stream face mqtt-packet's writeToStream sees ----

  write(data: Uint8Array | string): boolean {
    if (typeof data === 'string') {
      const size = utf8Size(data)
      const b = this.#ensure(size)
      this.#pos += b.write(data, this.#pos, 'utf8')
      this.#burst += size
      return true
    }
    if (data.length > LARGE_PAYLOAD) {
      this.#seal()
      this.#chunks.push(data)
    } else {
      const b = this.#ensure(data.length)
      b.set(data, this.#pos)
      this.#pos += data.length
    }
    this.#burst += data.length
    return true
  }

  destroy(error?: Error): void {
    this.#error = error ?? new Error('Cannot encode MQTT packet')
  }

  // ---- internals ----

  /** A buffer with `n` free bytes at `#pos`. */
  #ensure(n: number): Buffer {
    const buf = this.#buf
    if (buf !== undefined && buf.length - this.#pos >= n) return buf
    this.#seal()
    const fresh = Buffer.allocUnsafe(n > this.#hint ? n : this.#hint)
    this.#buf = fresh
    this.#start = this.#pos = 0
    return fresh
  }

  /** Moves the bytes written since the last seal into the chunk list. */
  #seal(): void {
    const buf = this.#buf
    if (buf === undefined || this.#pos === this.#start) return
    this.#chunks.push(buf.subarray(this.#start, this.#pos))
    this.#start = this.#pos
  }
}

function writeVarint(b: Buffer, o: number, n: number): number {
  // Bounded: a Variable Byte Integer has at most four bytes.
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    b[o++] = byte
  } while (n > 0)
  return o
}

function writeString(b: Buffer, o: number, id: number, s: string): number {
  b[o] = id
  const size = b.write(s, o + 3, 'utf8')
  b[o + 1] = size >>> 8
  b[o + 2] = size & 0xff
  return o + 3 + size
}

function writePair(b: Buffer, o: number, name: string, value: string): number {
  b[o] = 0x26
  let p = o + 1
  const nameSize = b.write(name, p + 2, 'utf8')
  b[p] = nameSize >>> 8
  b[p + 1] = nameSize & 0xff
  p += 2 + nameSize
  const valueSize = b.write(value, p + 2, 'utf8')
  b[p] = valueSize >>> 8
  b[p + 1] = valueSize & 0xff
  return p + 2 + valueSize
}

/** The PUBLISH properties in MQTT 5 section 3.3.2.3 identifiers. */
function writeProperties(b: Buffer, o: number, p: PublishProperties): number {
  if (p.payloadFormatIndicator !== undefined) {
    b[o++] = 0x01
    b[o++] = p.payloadFormatIndicator ? 1 : 0
  }
  if (p.messageExpiryInterval !== undefined) {
    b[o++] = 0x02
    b.writeUInt32BE(p.messageExpiryInterval >>> 0, o)
    o += 4
  }
  if (p.contentType !== undefined) o = writeString(b, o, 0x03, p.contentType)
  if (p.responseTopic !== undefined) o = writeString(b, o, 0x08, p.responseTopic)
  if (p.correlationData !== undefined) {
    const data = p.correlationData
    b[o] = 0x09
    b[o + 1] = data.length >>> 8
    b[o + 2] = data.length & 0xff
    b.set(data, o + 3)
    o += 3 + data.length
  }
  const ids = p.subscriptionIdentifier
  if (ids !== undefined) {
    if (typeof ids === 'number') {
      b[o++] = 0x0b
      o = writeVarint(b, o, ids)
    } else {
      for (const id of ids) {
        b[o++] = 0x0b
        o = writeVarint(b, o, id)
      }
    }
  }
  if (p.topicAlias !== undefined) {
    b[o] = 0x23
    b[o + 1] = p.topicAlias >>> 8
    b[o + 2] = p.topicAlias & 0xff
    o += 3
  }
  const user = p.userProperties
  if (user !== undefined) {
    for (const name in user) {
      const v = user[name]!
      if (typeof v === 'string') o = writePair(b, o, name, v)
      else for (const item of v) o = writePair(b, o, name, item)
    }
  }
  return o
}
