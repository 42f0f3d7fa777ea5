/**
 * A message as a segment record. Encoding writes the frame header and everything but the body
 * into a shared scratch buffer (`RecordArena`); the body goes to the file as its own writev
 * buffer, so it is never copied. Decoding returns views into the read buffer.
 *
 * Record payload (all integers little-endian):
 *
 * ```
 * u8  type (1 = message,      u8  priority (the queue's level)
 *     3 = transient message:
 *     paged out, never recovered)
 * u16 property flags          u32 H: bytes before the body
 * f64 seq                     f64 expiresAt (epoch ms, 0 = never)
 * str exchange, str routing key, then each property whose flag is set, in flag order
 * [body: the remaining bytes]
 * ```
 *
 * `str` is u32 byte length + UTF-8. Numeric properties are f64; headers and annotations are
 * JSON (field_json.ts for headers).
 *
 * @module
 */
import type { Annotations, Message, MessageProperties } from '../api.ts'
import { fromJson, toJson } from './field_json.ts'
import { FRAME_HEADER, writeFrameHeader } from './frame.ts'

export const RECORD_MESSAGE = 1
/** A transient message written only to free memory: recovery skips it. */
export const RECORD_TRANSIENT = 3
/** Bytes of the fixed part of a message record. */
const FIXED = 24

/** Presence bits of the optional fields, in encoding order. */
const FLAG = {
  contentType: 1 << 0,
  contentEncoding: 1 << 1,
  headers: 1 << 2,
  deliveryMode: 1 << 3,
  priority: 1 << 4,
  correlationId: 1 << 5,
  replyTo: 1 << 6,
  expiration: 1 << 7,
  messageId: 1 << 8,
  timestamp: 1 << 9,
  type: 1 << 10,
  userId: 1 << 11,
  appId: 1 << 12,
  clusterId: 1 << 13,
  annotations: 1 << 15,
} as const

const STRING_PROPS = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'expiration', 'messageId', 'type', 'userId', 'appId', 'clusterId'] as const

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The fixed fields a recovery scan needs without decoding the message. */
export interface RecordMeta {
  seq: number
  priority: number
  expiresAt: number
  /** Body bytes. */
  size: number
  /** A transient message's record (paged out): not to be recovered. */
  transient: boolean
}

/**
 * Scratch space for record headers between two writes. Views it hands out stay valid until
 * `reset`, which the owner calls once everything it handed out has been written.
 */
export class RecordArena {
  #buf: Uint8Array
  #view: DataView
  #pos = 0

  constructor(size = 256 * 1024) {
    this.#buf = new Uint8Array(size)
    this.#view = new DataView(this.#buf.buffer)
  }

  /**
   * Encodes a message record's frame header and payload header. Returns that head; the file gets
   * head then `message.body`, in one writev.
   */
  encodeMessage(message: Message, seq: number, priority: number, expiresAt: number, transient = false): Uint8Array {
    const props = message.properties
    const headers = props.headers === undefined ? undefined : encoder.encode(JSON.stringify(toJson(props.headers)))
    const annotations = message.annotations === undefined ? undefined : encoder.encode(JSON.stringify(message.annotations))
    // Upper bound: UTF-8 is at most 3 bytes per UTF-16 unit.
    let bound = FRAME_HEADER + FIXED + 8 + 3 * (message.exchange.length + message.routingKey.length) + 5 * 8 + 8
    for (const key of STRING_PROPS) {
      const v = props[key]
      if (v !== undefined) bound += 4 + 3 * v.length
    }
    if (headers !== undefined) bound += 4 + headers.byteLength
    if (annotations !== undefined) bound += 4 + annotations.byteLength
    this.#reserve(bound)

    const start = this.#pos
    const view = this.#view
    let p = start + FRAME_HEADER
    const fixedAt = p
    p += FIXED
    p = this.#str(p, message.exchange)
    p = this.#str(p, message.routingKey)
    let flags = 0
    const str = (flag: number, v: string | undefined): void => {
      if (v === undefined) return
      flags |= flag
      p = this.#str(p, v)
    }
    const num = (flag: number, v: number | undefined): void => {
      if (v === undefined) return
      flags |= flag
      view.setFloat64(p, v, true)
      p += 8
    }
    const bytes = (flag: number, v: Uint8Array | undefined): void => {
      if (v === undefined) return
      flags |= flag
      view.setUint32(p, v.byteLength, true)
      this.#buf.set(v, p + 4)
      p += 4 + v.byteLength
    }
    str(FLAG.contentType, props.contentType)
    str(FLAG.contentEncoding, props.contentEncoding)
    bytes(FLAG.headers, headers)
    num(FLAG.deliveryMode, props.deliveryMode)
    num(FLAG.priority, props.priority)
    str(FLAG.correlationId, props.correlationId)
    str(FLAG.replyTo, props.replyTo)
    str(FLAG.expiration, props.expiration)
    str(FLAG.messageId, props.messageId)
    num(FLAG.timestamp, props.timestamp)
    str(FLAG.type, props.type)
    str(FLAG.userId, props.userId)
    str(FLAG.appId, props.appId)
    str(FLAG.clusterId, props.clusterId)
    bytes(FLAG.annotations, annotations)

    view.setUint8(fixedAt, transient ? RECORD_TRANSIENT : RECORD_MESSAGE)
    view.setUint8(fixedAt + 1, priority)
    view.setUint16(fixedAt + 2, flags, true)
    view.setUint32(fixedAt + 4, p - fixedAt, true)
    view.setFloat64(fixedAt + 8, seq, true)
    view.setFloat64(fixedAt + 16, expiresAt, true)
    this.#pos = p
    const head = this.#buf.subarray(start, p)
    writeFrameHeader(head, 0, [head.subarray(FRAME_HEADER), message.body])
    return head
  }

  /** Scratch bytes for a small record the caller fills (ack batches). */
  take(size: number): Uint8Array {
    this.#reserve(size)
    const out = this.#buf.subarray(this.#pos, this.#pos + size)
    this.#pos += size
    return out
  }

  /** Everything handed out has been written: reuse the space. */
  reset(): void {
    this.#pos = 0
  }

  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.byteLength) return
    // Earlier views keep the old buffer alive until they are written; start a fresh one.
    this.#buf = new Uint8Array(Math.max(this.#buf.byteLength, bytes * 2))
    this.#view = new DataView(this.#buf.buffer)
    this.#pos = 0
  }

  #str(p: number, s: string): number {
    const { written } = encoder.encodeInto(s, this.#buf.subarray(p + 4))
    this.#view.setUint32(p, written, true)
    return p + 4 + written
  }
}

/** The fixed fields of a message record, or undefined when `payload` is not one. */
export function readMeta(payload: Uint8Array): RecordMeta | undefined {
  if (payload.byteLength < FIXED || (payload[0] !== RECORD_MESSAGE && payload[0] !== RECORD_TRANSIENT)) return undefined
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const headerLength = view.getUint32(4, true)
  if (headerLength < FIXED || headerLength > payload.byteLength) return undefined
  return {
    priority: payload[1]!,
    seq: view.getFloat64(8, true),
    expiresAt: view.getFloat64(16, true),
    size: payload.byteLength - headerLength,
    transient: payload[0] === RECORD_TRANSIENT,
  }
}

/**
 * The message of a record (body and strings are views/copies of `payload`; the body is a view).
 * Throws RangeError on a malformed record.
 */
export function decodeMessage(payload: Uint8Array): Message {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  if (payload[0] !== RECORD_MESSAGE && payload[0] !== RECORD_TRANSIENT) throw new RangeError(`Cannot decode message: record type ${payload[0]}`)
  const flags = view.getUint16(2, true)
  const headerLength = view.getUint32(4, true)
  if (headerLength < FIXED || headerLength > payload.byteLength) throw new RangeError('Cannot decode message: bad header length')
  let p = FIXED
  const str = (): string => {
    const n = view.getUint32(p, true)
    if (p + 4 + n > headerLength) throw new RangeError('Cannot decode message: string past the header')
    const s = decoder.decode(payload.subarray(p + 4, p + 4 + n))
    p += 4 + n
    return s
  }
  const num = (): number => {
    const v = view.getFloat64(p, true)
    p += 8
    return v
  }
  const exchange = str()
  const routingKey = str()
  const properties: MessageProperties = {}
  if (flags & FLAG.contentType) properties.contentType = str()
  if (flags & FLAG.contentEncoding) properties.contentEncoding = str()
  if (flags & FLAG.headers) properties.headers = fromJson(JSON.parse(str())) as MessageProperties['headers']
  if (flags & FLAG.deliveryMode) properties.deliveryMode = num()
  if (flags & FLAG.priority) properties.priority = num()
  if (flags & FLAG.correlationId) properties.correlationId = str()
  if (flags & FLAG.replyTo) properties.replyTo = str()
  if (flags & FLAG.expiration) properties.expiration = str()
  if (flags & FLAG.messageId) properties.messageId = str()
  if (flags & FLAG.timestamp) properties.timestamp = num()
  if (flags & FLAG.type) properties.type = str()
  if (flags & FLAG.userId) properties.userId = str()
  if (flags & FLAG.appId) properties.appId = str()
  if (flags & FLAG.clusterId) properties.clusterId = str()
  const message: Message = { exchange, routingKey, properties, body: payload.subarray(headerLength) }
  if (flags & FLAG.annotations) message.annotations = Object.freeze(JSON.parse(str())) as Annotations
  return message
}
