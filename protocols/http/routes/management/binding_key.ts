/**
 * A binding's `properties_key`, the last path segment that names one binding
 * (rabbit_mgmt_format:pack_binding_props/2): "~" for an empty key without arguments, the
 * form-quoted routing key, and "~" plus a hash of the arguments when there are any. RabbitMQ
 * hashes with erlang:phash2; clients treat the key as opaque, so any stable hash does.
 *
 * @module
 */
import { Buffer } from 'node:buffer'

const utf8 = new TextEncoder()
const HEX = '0123456789ABCDEF'

function isSafe(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2e || // .
    b === 0x2d || // -
    b === 0x5f // _
  )
}

/** rabbit_http_util:quote_plus/1, then "~" as %7E (RabbitMQ's quote_binding/1). */
export function quoteBinding(text: string): string {
  let out = ''
  for (const b of utf8.encode(text)) {
    if (isSafe(b)) out += String.fromCharCode(b)
    else if (b === 0x20) out += '+'
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`
  }
  return out
}

/** JSON with object keys sorted, so equal tables hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** 32-bit FNV-1a of the canonical JSON, base64url without padding (6 characters). */
export function argumentsHash(args: Record<string, unknown>): string {
  let h = 0x811c9dc5
  for (const b of utf8.encode(canonical(args))) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(h >>> 0)
  return bytes.toString('base64url')
}

export function propertiesKey(routingKey: string, args: Record<string, unknown>): string {
  const hasArgs = Object.keys(args).length > 0
  if (!hasArgs) return routingKey === '' ? '~' : quoteBinding(routingKey)
  return `${quoteBinding(routingKey)}~${argumentsHash(args)}`
}
