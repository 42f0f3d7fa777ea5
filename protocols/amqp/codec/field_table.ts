/**
 * AMQP field tables and arrays, with RabbitMQ's type set (rabbit_binary_parser): S I D T F A b B
 * s u i l L d f t x V.
 *
 * Decoding: 'S' string (UTF-8), 'I' number, 'l'/'L' number when a safe integer else bigint
 * (RabbitMQ reads 'L' as signed 64 too and writes it back as 'l') — but a TypedNumber 'l' when
 * it fits in 32 bits, so it is not re-encoded as 'I' (a Go int64 or Java Long header must come
 * back as one, as RabbitMQ passes header bytes through), 'd' number, 't' boolean,
 * 'x' Uint8Array (a view into the frame, not a copy), 'V' null, 'D' Decimal, 'F' table, 'A'
 * array, 'T' Date (whole seconds; a timestamp too large for a Date stays a TypedNumber 'T').
 * The rare widths 'b' 'B' 's' 'u' 'i' 'f' become TypedNumber so re-encoding keeps their bytes.
 *
 * Encoding plain values: string 'S', boolean 't', integer in int32 range 'I', other safe
 * integer 'l', any other number 'd', bigint 'l', Uint8Array 'x', Date 'T' (seconds), array 'A',
 * null/undefined 'V', Decimal 'D', TypedNumber its own type, other objects 'F'.
 *
 * @module
 */
import type { Decimal, FieldValue, Table, TypedNumber } from '../../../src/api.ts'
import { ReplyCode } from '../spec/generated.ts'
import type { ByteWriter } from './byte_writer.ts'
import { AmqpError } from './errors.ts'
import { readString, u16, u32 } from './primitives.ts'

/** Deeper nesting is refused, so a hostile frame cannot exhaust the stack. */
const MAX_DEPTH = 100
const TWO_32 = 0x100000000
/** The largest seconds value a Date can hold (8.64e15 ms). */
const MAX_DATE_SECONDS = 8.64e12
/** The empty table, for defaults (frozen: shared by every encoder call). */
export const EMPTY_TABLE: Table = Object.freeze({}) as Table

const scratch = new DataView(new ArrayBuffer(8))
const scratchBytes = new Uint8Array(scratch.buffer)

function invalid(detail: string): AmqpError {
  return new AmqpError(ReplyCode.SYNTAX_ERROR, `invalid field table: ${detail}`)
}

/**
 * Decodes the table at `offset` (4-byte length, then the fields). `view` and `bytes` cover the
 * same memory; the length is read through `view`, the fields through `bytes`. Throws AmqpError
 * 502 SYNTAX_ERROR on a malformed table.
 */
export function decodeTable(view: DataView, bytes: Uint8Array, offset: number): { value: Table; offset: number } {
  if (offset + 4 > bytes.length) throw invalid('truncated')
  const end = offset + 4 + view.getUint32(offset)
  if (end > bytes.length) throw invalid('truncated')
  return { value: readFields(bytes, offset + 4, end, 0), offset: end }
}

/** Decodes a whole buffer as table fields without the length prefix (AMQPLAIN responses). */
export function decodeFieldTableBody(bytes: Uint8Array): Table {
  return readFields(bytes, 0, bytes.length, 0)
}

/**
 * Decodes the fields between `start` and `end` (the caller checked that `end` is in bounds).
 * Throws AmqpError 502 on anything malformed.
 */
export function readFields(b: Uint8Array, start: number, end: number, depth: number): Table {
  if (depth > MAX_DEPTH) throw invalid('nested too deeply')
  const table: Table = {}
  let o = start
  while (o < end) {
    const n = b[o]!
    if (o + 1 + n + 1 > end) throw invalid('truncated')
    const key = readString(b, o + 1, n, false)
    o = readValue(b, o + 1 + n, end, depth)
    if (key === '__proto__') {
      Object.defineProperty(table, key, { value: decoded, enumerable: true, writable: true, configurable: true })
    } else {
      table[key] = decoded
    }
  }
  return table
}

function readArray(b: Uint8Array, start: number, end: number, depth: number): FieldValue[] {
  if (depth > MAX_DEPTH) throw invalid('nested too deeply')
  const array: FieldValue[] = []
  let o = start
  while (o < end) {
    o = readValue(b, o, end, depth)
    array.push(decoded)
  }
  return array
}

/**
 * The value most recently read by readValue. Returning it through a module variable keeps the
 * per-value path free of result objects; it is consumed before the next read.
 */
let decoded: FieldValue = null

function typed(type: TypedNumber['type'], value: number | bigint): TypedNumber {
  return { kind: 'typed-number', type, value }
}

/** Reads the tagged value at `o`; leaves it in `decoded` and returns the next offset. */
function readValue(b: Uint8Array, o: number, end: number, depth: number): number {
  const tag = b[o]!
  o += 1
  const need = fixedSize(tag)
  if (need < 0) throw invalid(`unknown field type '${String.fromCharCode(tag)}'`)
  if (o + need > end) throw invalid('truncated')
  switch (tag) {
    case 0x53: // 'S'
    case 0x78: // 'x'
    case 0x46: // 'F'
    case 0x41: {
      // 'A'
      const n = u32(b, o)
      const at = o + 4
      if (at + n > end) throw invalid('truncated')
      if (tag === 0x53) decoded = readString(b, at, n, false)
      else if (tag === 0x78) decoded = b.subarray(at, at + n)
      else if (tag === 0x46) decoded = readFields(b, at, at + n, depth + 1)
      else decoded = readArray(b, at, at + n, depth + 1)
      return at + n
    }
    case 0x49: // 'I'
      decoded = u32(b, o) | 0
      break
    case 0x74: // 't'
      decoded = b[o] !== 0
      break
    case 0x6c: // 'l'
    case 0x4c: // 'L'
      decoded = int64(b, o)
      if (typeof decoded === 'number' && decoded >= -0x80000000 && decoded <= 0x7fffffff) decoded = typed('l', decoded)
      break
    case 0x54: // 'T'
      decoded = timestamp(b, o)
      break
    case 0x64: // 'd'
      scratchBytes.set(b.subarray(o, o + 8))
      decoded = scratch.getFloat64(0)
      break
    case 0x56: // 'V'
      decoded = null
      break
    case 0x44: // 'D'
      decoded = { kind: 'decimal', scale: b[o]!, value: u32(b, o + 1) } satisfies Decimal
      break
    case 0x62: // 'b'
      decoded = typed('b', (b[o]! << 24) >> 24)
      break
    case 0x42: // 'B'
      decoded = typed('B', b[o]!)
      break
    case 0x73: // 's'
      decoded = typed('s', (u16(b, o) << 16) >> 16)
      break
    case 0x75: // 'u'
      decoded = typed('u', u16(b, o))
      break
    case 0x69: // 'i'
      decoded = typed('i', u32(b, o))
      break
    case 0x66: // 'f'
      scratchBytes.set(b.subarray(o, o + 4))
      decoded = typed('f', scratch.getFloat32(0))
      break
  }
  return o + need
}

/** Bytes after the tag before any variable part; -1 for a type RabbitMQ does not know. */
function fixedSize(tag: number): number {
  switch (tag) {
    case 0x53: // 'S'
    case 0x78: // 'x'
    case 0x46: // 'F'
    case 0x41: // 'A'
    case 0x49: // 'I'
    case 0x69: // 'i'
    case 0x66: // 'f'
      return 4
    case 0x6c: // 'l'
    case 0x4c: // 'L'
    case 0x54: // 'T'
    case 0x64: // 'd'
      return 8
    case 0x74: // 't'
    case 0x62: // 'b'
    case 0x42: // 'B'
      return 1
    case 0x73: // 's'
    case 0x75: // 'u'
      return 2
    case 0x44: // 'D'
      return 5
    case 0x56: // 'V'
      return 0
    default:
      return -1
  }
}

function int64(b: Uint8Array, o: number): number | bigint {
  const hi = u32(b, o) | 0
  const lo = u32(b, o + 4)
  // |hi| < 2^21 keeps hi * 2^32 + lo exact (and the result a safe integer).
  if (hi < 0x200000 && hi >= -0x200000) return hi * TWO_32 + lo
  return (BigInt(hi) << 32n) | BigInt(lo)
}

function timestamp(b: Uint8Array, o: number): Date | TypedNumber {
  const hi = u32(b, o)
  const lo = u32(b, o + 4)
  const seconds = hi * TWO_32 + lo
  if (seconds <= MAX_DATE_SECONDS) return new Date(seconds * 1000)
  return typed('T', (BigInt(hi) << 32n) | BigInt(lo))
}

/** Encodes `table` with its 4-byte length prefix. Throws RangeError/TypeError on bad values. */
export function encodeTable(writer: ByteWriter, table: Table): void {
  writeTable(writer, table, 0)
}

function writeTable(w: ByteWriter, table: Table, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('Cannot encode field table: nested too deeply (or cyclic)')
  const at = w.offset
  w.long(0)
  for (const key in table) {
    w.shortstr(key)
    writeValue(w, table[key], depth)
  }
  w.longAt(at, w.offset - at - 4)
}

function writeArray(w: ByteWriter, array: readonly FieldValue[], depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('Cannot encode field array: nested too deeply (or cyclic)')
  const at = w.offset
  w.long(0)
  for (let i = 0; i < array.length; i++) writeValue(w, array[i], depth)
  w.longAt(at, w.offset - at - 4)
}

function writeValue(w: ByteWriter, value: FieldValue, depth: number): void {
  switch (typeof value) {
    case 'string':
      w.octet(0x53)
      w.longstr(value)
      return
    case 'boolean':
      w.octet(0x74)
      w.octet(value ? 1 : 0)
      return
    case 'number':
      if (Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
        w.octet(0x49)
        w.long(value)
      } else if (Number.isSafeInteger(value)) {
        w.octet(0x6c)
        w.int64(BigInt(value))
      } else {
        w.octet(0x64)
        w.float64(value)
      }
      return
    case 'bigint':
      w.octet(0x6c)
      w.int64(checkInt64(value))
      return
    case 'undefined':
      w.octet(0x56)
      return
  }
  if (value === null) {
    w.octet(0x56)
  } else if (value instanceof Uint8Array) {
    w.octet(0x78)
    w.longBytes(value)
  } else if (value instanceof Date) {
    w.octet(0x54)
    w.uint64(BigInt(dateSeconds(value)))
  } else if (Array.isArray(value)) {
    w.octet(0x41)
    writeArray(w, value, depth + 1)
  } else if (isDecimal(value)) {
    w.octet(0x44)
    writeDecimal(w, value)
  } else if (isTypedNumber(value)) {
    writeTyped(w, value)
  } else {
    w.octet(0x46)
    writeTable(w, value as Table, depth + 1)
  }
}

function isDecimal(value: object): value is Decimal {
  return (value as Partial<Decimal>).kind === 'decimal' && typeof (value as Partial<Decimal>).scale === 'number'
}

function isTypedNumber(value: object): value is TypedNumber {
  return (value as Partial<TypedNumber>).kind === 'typed-number' && typeof (value as Partial<TypedNumber>).type === 'string'
}

function writeDecimal(w: ByteWriter, d: Decimal): void {
  const ok = Number.isInteger(d.scale) && d.scale >= 0 && d.scale <= 255
  if (!ok || !Number.isInteger(d.value) || d.value < 0 || d.value >= TWO_32) {
    throw new RangeError(`Cannot encode decimal: scale ${d.scale} (0-255) and value ${d.value} (uint32) expected`)
  }
  w.octet(d.scale)
  w.long(d.value)
}

function dateSeconds(date: Date): number {
  const ms = date.getTime()
  if (!(ms >= 0)) throw new RangeError(`Cannot encode timestamp "${String(date)}": not a date at or after 1970`)
  return Math.floor(ms / 1000)
}

function checkInt64(x: bigint): bigint {
  if (x < -(1n << 63n) || x >= 1n << 63n) throw new RangeError(`Cannot encode ${x} as a signed 64-bit integer`)
  return x
}

function writeTyped(w: ByteWriter, t: TypedNumber): void {
  const v = t.value
  const n = Number(v)
  switch (t.type) {
    case 'b':
      w.octet(0x62)
      w.octet(n)
      return
    case 'B':
      w.octet(0x42)
      w.octet(n)
      return
    case 's':
      w.octet(0x73)
      w.short(n)
      return
    case 'u':
      w.octet(0x75)
      w.short(n)
      return
    case 'I':
      w.octet(0x49)
      w.long(n)
      return
    case 'i':
      w.octet(0x69)
      w.long(n)
      return
    case 'l':
      w.octet(0x6c)
      w.int64(checkInt64(BigInt(v)))
      return
    case 'T':
      w.octet(0x54)
      w.uint64(BigInt.asUintN(64, BigInt(v)))
      return
    case 'f':
      w.octet(0x66)
      w.float32(n)
      return
    case 'd':
      w.octet(0x64)
      w.float64(n)
      return
    default:
      throw new TypeError(`Cannot encode typed number of unknown type "${String(t.type)}"`)
  }
}
