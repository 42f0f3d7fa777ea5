/**
 * Field tables (api.Table) as JSON, for definitions (queue and binding arguments) and message
 * headers on disk. Plain JSON values stay plain; the field types JSON lacks become one-key
 * objects whose key starts with "$":
 *
 * | value                         | JSON                        |
 * | ----------------------------- | --------------------------- |
 * | Uint8Array                    | `{"$b": "<base64>"}`        |
 * | bigint                        | `{"$i": "<decimal>"}`       |
 * | Date                          | `{"$d": <epoch ms>}`        |
 * | undefined (AMQP void)         | `{"$u": 0}`                 |
 * | NaN, ±Infinity                | `{"$n": "NaN"}` …           |
 * | Decimal                       | `{"$dec": [scale, value]}`  |
 * | TypedNumber                   | `{"$tn": [type, value]}`    |
 * | a table with one "$…" key     | `{"$t": {…}}`               |
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { FieldValue, Table } from '../api.ts'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/** Encodes a table (or undefined) as a JSON-ready value. */
export function tableToJson(table: Table | undefined): Json | undefined {
  return table === undefined ? undefined : (toJson(table) as Json)
}

/** The inverse of `tableToJson`. */
export function tableFromJson(json: unknown): Table | undefined {
  if (json === undefined || json === null) return undefined
  return fromJson(json) as Table
}

export function toJson(value: FieldValue): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : { $n: String(value) }
    case 'bigint':
      return { $i: value.toString() }
    case 'undefined':
      return { $u: 0 }
  }
  if (value === null) return null
  if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (value instanceof Date) return { $d: value.getTime() }
  if (Array.isArray(value)) return value.map(toJson)
  if ('kind' in value && value.kind === 'decimal' && typeof value.scale === 'number') {
    return { $dec: [value.scale, value.value as number] }
  }
  if ('kind' in value && value.kind === 'typed-number' && typeof value.type === 'string') {
    return { $tn: [value.type, toJson(value.value as number | bigint)] }
  }
  const out: { [key: string]: Json } = {}
  let keys = 0
  let tagLike = false
  for (const key in value as Table) {
    out[key] = toJson((value as Table)[key])
    keys++
    tagLike = key.startsWith('$')
  }
  return keys === 1 && tagLike ? { $t: out } : out
}

export function fromJson(json: unknown): FieldValue {
  if (json === null || typeof json !== 'object') return json as FieldValue
  if (Array.isArray(json)) return json.map(fromJson)
  const obj = json as Record<string, unknown>
  const keys = Object.keys(obj)
  if (keys.length === 1 && keys[0]!.startsWith('$')) {
    const tag = keys[0]!
    const v = obj[tag]
    switch (tag) {
      case '$b':
        return new Uint8Array(Buffer.from(v as string, 'base64'))
      case '$i':
        return BigInt(v as string)
      case '$d':
        return new Date(v as number)
      case '$u':
        return undefined
      case '$n':
        return Number(v)
      case '$dec': {
        const [scale, value] = v as [number, number]
        return { kind: 'decimal', scale, value }
      }
      case '$tn': {
        const [type, value] = v as [string, unknown]
        return { kind: 'typed-number', type, value: fromJson(value) } as FieldValue
      }
      case '$t':
        return plainTable(v as Record<string, unknown>)
    }
  }
  return plainTable(obj)
}

function plainTable(obj: Record<string, unknown>): Table {
  const out: Table = {}
  for (const key in obj) out[key] = fromJson(obj[key])
  return out
}

/** A stable text for a table (sorted keys at every level): binding identity in the definitions log. */
export function canonicalTable(table: Table | undefined): string {
  if (table === undefined) return ''
  return JSON.stringify(sortKeys(toJson(table)))
}

function sortKeys(json: Json): Json {
  if (json === null || typeof json !== 'object') return json
  if (Array.isArray(json)) return json.map(sortKeys)
  const out: { [key: string]: Json } = {}
  for (const key of Object.keys(json).sort()) out[key] = sortKeys(json[key]!)
  return out
}
