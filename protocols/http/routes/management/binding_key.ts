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

/** rabbit_http_util:unquote/1: "+" is a space, %XX a byte; a malformed escape stays as it is. */
export function unquoteBinding(text: string): string {
  const plain = text.replaceAll('+', ' ')
  if (!plain.includes('%')) return plain
  try {
    return decodeURIComponent(plain)
  } catch {
    // Decode each run of well-formed escapes on its own, keeping stray "%" (a key like "50%").
    return plain.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        return run
      }
    })
  }
}

/** What a properties key names: a routing key, and the arguments' hash when it has one. */
export interface PropertiesKeyParts {
  routingKey: string
  argsHash: string | undefined
}

/**
 * Reads the properties key of a path as rabbit_mgmt_wm_binding does after the router decoded the
 * segment once: the part before "~" unquoted is the routing key, what follows is the arguments'
 * hash. So the key works sent encoded once (what rabbitmqadmin sends: "a.%2A" for "a.*") or
 * twice (the properties_key itself, URL-encoded).
 */
export function parsePropertiesKey(props: string): PropertiesKeyParts {
  const tilde = props.indexOf('~')
  if (tilde < 0) return { routingKey: unquoteBinding(props), argsHash: undefined }
  const hash = props.slice(tilde + 1)
  return { routingKey: unquoteBinding(props.slice(0, tilde)), argsHash: hash === '' ? undefined : hash }
}

/** Whether a binding with this routing key and these (JSON) arguments is the one `parts` names. */
export function matchesPropertiesKey(parts: PropertiesKeyParts, routingKey: string, args: Record<string, unknown>): boolean {
  if (routingKey !== parts.routingKey) return false
  const hasArgs = Object.keys(args).length > 0
  return parts.argsHash === undefined ? !hasArgs : hasArgs && argumentsHash(args) === parts.argsHash
}

/**
 * The binding `props` names among `candidates` (all between the same source and destination).
 * When none matches the key read as RabbitMQ reads it, a binding whose routing key is `props`
 * itself (no arguments) does: a client that encoded a raw routing key once, "a+b" or "50%",
 * still finds it, as long as no binding answers to the unquoted reading.
 */
export function findByPropertiesKey<T>(
  candidates: readonly T[],
  props: string,
  keyOf: (item: T) => { routingKey: string; args: Record<string, unknown> },
): T | undefined {
  const parts = parsePropertiesKey(props)
  const exact = candidates.find((b) => {
    const k = keyOf(b)
    return matchesPropertiesKey(parts, k.routingKey, k.args)
  })
  if (exact !== undefined || parts.routingKey === props) return exact
  const literal = { routingKey: props, argsHash: undefined }
  return candidates.find((b) => {
    const k = keyOf(b)
    return matchesPropertiesKey(literal, k.routingKey, k.args)
  })
}
