/**
 * Comparisons of field-table values for bindings: exact identity (is this the same binding?) and
 * RabbitMQ's looser header matching (does this header satisfy the binding?), plus the Erlang-ish
 * rendering RabbitMQ uses in its error texts.
 *
 * @module
 */
import type { Decimal, FieldValue, Table, TypedNumber } from '../../api.ts'

const encoder = new TextEncoder()

function isDecimal(v: object): v is Decimal {
  return (v as Decimal).kind === 'decimal'
}

function isTypedNumber(v: object): v is TypedNumber {
  return (v as TypedNumber).kind === 'typed-number'
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Binding arguments identity. No arguments and an empty table are the same (clients differ in
 * which they send), everything else must be deep-equal with the same wire types.
 */
export function argsEqual(a: Table | undefined, b: Table | undefined): boolean {
  if (a === b) return true
  return tablesEqual(a ?? {}, b ?? {}, true)
}

function tablesEqual(a: Table, b: Table, strict: boolean): boolean {
  let count = 0
  for (const key in a) {
    if (!Object.hasOwn(a, key)) continue
    if (!Object.hasOwn(b, key)) return false
    if (!(strict ? valuesEqual(a[key], b[key]) : valuesMatch(a[key], b[key]))) return false
    count++
  }
  for (const key in b) if (Object.hasOwn(b, key)) count--
  return count === 0
}

/** Exact equality: same type and value (1 and 1.5 differ, a typed 'b' 1 and a plain 1 differ). */
export function valuesEqual(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b)
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime()
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i], b[i])) return false
    return true
  }
  if (b instanceof Uint8Array || b instanceof Date || Array.isArray(b)) return false
  if (isDecimal(a)) return isDecimal(b) && a.scale === b.scale && a.value === b.value
  if (isTypedNumber(a)) return isTypedNumber(b) && a.type === b.type && a.value === b.value
  if (isDecimal(b) || isTypedNumber(b)) return false
  return tablesEqual(a as Table, b as Table, true)
}

/** A value as a plain number when it is one on the wire (typed numbers, timestamps). */
function numeric(v: FieldValue): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v
  if (typeof v !== 'object' || v === null) return undefined
  if (v instanceof Date) return Math.floor(v.getTime() / 1000) // AMQP timestamps are seconds
  if (!(v instanceof Uint8Array) && !Array.isArray(v) && isTypedNumber(v)) return v.value
  return undefined
}

/**
 * Header matching equality, RabbitMQ's `PV == DV`: numbers compare by value whatever their wire
 * width (1 matches 1.0 and a long 1), a string matches a byte array with the same UTF-8 bytes,
 * void matches void.
 */
export function valuesMatch(pattern: FieldValue, data: FieldValue): boolean {
  if (pattern === data) return true
  if (pattern == null || data == null) return pattern == null && data == null
  const p = numeric(pattern)
  if (p !== undefined) {
    const d = numeric(data)
    // Loose equality compares a number and a bigint mathematically.
    return d !== undefined && p == d
  }
  if (typeof pattern === 'string' || pattern instanceof Uint8Array) {
    if (typeof data === 'string') return typeof pattern === 'string' ? false : bytesEqual(pattern, encoder.encode(data))
    if (data instanceof Uint8Array) {
      return bytesEqual(typeof pattern === 'string' ? encoder.encode(pattern) : pattern, data)
    }
    return false
  }
  if (typeof pattern !== 'object' || typeof data !== 'object') return false
  if (Array.isArray(pattern)) {
    if (!Array.isArray(data) || pattern.length !== data.length) return false
    for (let i = 0; i < pattern.length; i++) if (!valuesMatch(pattern[i], data[i])) return false
    return true
  }
  if (data instanceof Uint8Array || data instanceof Date || Array.isArray(data)) return false
  if (isDecimal(pattern)) return isDecimal(data) && pattern.scale === data.scale && pattern.value === data.value
  if (isDecimal(data) || isTypedNumber(data)) return false
  return tablesEqual(pattern as Table, data as Table, false)
}

const TYPED_NAMES: Record<TypedNumber['type'], string> = {
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  i: 'unsignedint',
  I: 'signedint',
  l: 'long',
  f: 'float',
  d: 'double',
  T: 'timestamp',
}

/** RabbitMQ's name for a value's field type (`longstr`, `signedint`, `bool` …). */
export function fieldTypeName(v: FieldValue): string {
  switch (typeof v) {
    case 'string':
      return 'longstr'
    case 'boolean':
      return 'bool'
    case 'bigint':
      return 'long'
    case 'number':
      if (!Number.isInteger(v)) return 'double'
      return v >= -0x80000000 && v <= 0x7fffffff ? 'signedint' : 'long'
    case 'undefined':
      return 'void'
  }
  if (v === null) return 'void'
  if (v instanceof Uint8Array) return 'binary'
  if (v instanceof Date) return 'timestamp'
  if (Array.isArray(v)) return 'array'
  if (isDecimal(v)) return 'decimal'
  if (isTypedNumber(v)) return TYPED_NAMES[v.type]
  return 'table'
}

/** Renders a value the way Erlang's `~tp` shows it in RabbitMQ's messages (`<<"all">>`, `1`). */
export function formatErlang(v: FieldValue): string {
  switch (typeof v) {
    case 'string': {
      const escaped = v.replace(/["\\]/g, '\\$&')
      return /^[\x20-\x7e]*$/.test(v) ? `<<"${escaped}">>` : `<<"${escaped}"/utf8>>`
    }
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v)
    case 'undefined':
      return 'undefined'
  }
  if (v === null) return 'undefined'
  if (v instanceof Uint8Array) return `<<${v.join(',')}>>`
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000))
  if (Array.isArray(v)) return `[${v.map((x) => `{${fieldTypeName(x)},${formatErlang(x)}}`).join(',')}]`
  if (isDecimal(v)) return `{${v.scale},${v.value}}`
  if (isTypedNumber(v)) return String(v.value)
  const entries = Object.entries(v).map(([k, x]) => `{${formatErlang(k)},${fieldTypeName(x)},${formatErlang(x)}}`)
  return `[${entries.join(',')}]`
}
