/**
 * Messages as JSON, in the RabbitMQ management API's shapes: snake_case basic properties
 * (rabbit_mgmt_format:to_basic_properties/1), payloads as UTF-8 text or base64 with a
 * `payload_encoding` flag, and the `data` of an SSE event.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { FieldValue, Message, MessageProperties, Table } from '../../../src/api.ts'
import { topicMapping } from './topic_filter.ts'

/** JSON form of api.MessageProperties, as the management API names the fields. */
export interface JsonProperties {
  content_type?: string
  content_encoding?: string
  headers?: Record<string, unknown>
  delivery_mode?: number
  priority?: number
  correlation_id?: string
  reply_to?: string
  expiration?: string
  message_id?: string
  timestamp?: number
  type?: string
  user_id?: string
  app_id?: string
  cluster_id?: string
}

export type PayloadEncoding = 'string' | 'base64'

/** JSON properties -> core properties. The schema in publish.ts has checked the types already. */
export function propertiesFromJson(p: JsonProperties): MessageProperties {
  const out: MessageProperties = {}
  if (p.content_type !== undefined) out.contentType = p.content_type
  if (p.content_encoding !== undefined) out.contentEncoding = p.content_encoding
  if (p.headers !== undefined) out.headers = p.headers as Table
  if (p.delivery_mode !== undefined) out.deliveryMode = p.delivery_mode
  if (p.priority !== undefined) out.priority = p.priority
  if (p.correlation_id !== undefined) out.correlationId = p.correlation_id
  if (p.reply_to !== undefined) out.replyTo = p.reply_to
  if (p.expiration !== undefined) out.expiration = p.expiration
  if (p.message_id !== undefined) out.messageId = p.message_id
  if (p.timestamp !== undefined) out.timestamp = p.timestamp
  if (p.type !== undefined) out.type = p.type
  if (p.user_id !== undefined) out.userId = p.user_id
  if (p.app_id !== undefined) out.appId = p.app_id
  if (p.cluster_id !== undefined) out.clusterId = p.cluster_id
  return out
}

/** Core properties -> JSON properties; absent fields stay absent. */
export function propertiesToJson(p: MessageProperties): JsonProperties {
  const out: JsonProperties = {}
  if (p.contentType !== undefined) out.content_type = p.contentType
  if (p.contentEncoding !== undefined) out.content_encoding = p.contentEncoding
  if (p.headers !== undefined) out.headers = tableToJson(p.headers)
  if (p.deliveryMode !== undefined) out.delivery_mode = p.deliveryMode
  if (p.priority !== undefined) out.priority = p.priority
  if (p.correlationId !== undefined) out.correlation_id = p.correlationId
  if (p.replyTo !== undefined) out.reply_to = p.replyTo
  if (p.expiration !== undefined) out.expiration = p.expiration
  if (p.messageId !== undefined) out.message_id = p.messageId
  if (p.timestamp !== undefined) out.timestamp = p.timestamp
  if (p.type !== undefined) out.type = p.type
  if (p.userId !== undefined) out.user_id = p.userId
  if (p.appId !== undefined) out.app_id = p.appId
  if (p.clusterId !== undefined) out.cluster_id = p.clusterId
  return out
}

/** A field table as plain JSON: wide numbers become numbers (or strings past 2^53), binaries text. */
export function tableToJson(table: Table): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(table)) {
    const value = table[key]
    if (value !== undefined) out[key] = valueToJson(value)
  }
  return out
}

const lenientUtf8 = new TextDecoder()

function valueToJson(v: FieldValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (v === undefined) return null
  if (v instanceof Uint8Array) return lenientUtf8.decode(v)
  // AMQP timestamps are seconds, as RabbitMQ shows them.
  if (v instanceof Date) return Math.floor(v.getTime() / 1000)
  if (Array.isArray(v)) return v.map(valueToJson)
  if ('kind' in v && v.kind === 'decimal' && typeof v.scale === 'number') return (v.value as number) / 10 ** v.scale
  if ('kind' in v && v.kind === 'typed-number') return valueToJson(v.value as number | bigint)
  return tableToJson(v as Table)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The body as JSON text: UTF-8 when it decodes as such (and base64 is not forced), else base64. */
export function encodePayload(body: Uint8Array, force: PayloadEncoding | 'auto'): { payload: string; encoding: PayloadEncoding } {
  if (force !== 'base64') {
    try {
      return { payload: strictUtf8.decode(body), encoding: 'string' }
    } catch {
      // Not UTF-8: fall through to base64.
    }
  }
  return { payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'), encoding: 'base64' }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const utf8 = new TextEncoder()

/** A request payload as bytes; undefined for malformed base64 (RabbitMQ answers 400 then). */
export function decodePayload(payload: string, encoding: PayloadEncoding): Uint8Array | undefined {
  if (encoding === 'string') return utf8.encode(payload)
  if (!BASE64.test(payload)) return undefined
  const buf = Buffer.from(payload, 'base64')
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

// The JSON of a message without its closing brace, per payload mode: one message fanned out to
// many SSE streams is stringified once, not once per stream (the core shares the Message object).
const autoCache = new WeakMap<Message, string>()
const base64Cache = new WeakMap<Message, string>()

/** The topic of a routing key when the caller names no mapping: the default (escaping) one. */
const defaultToTopic = topicMapping(true).toTopic

/**
 * The `data` of an SSE event for `message`:
 * `{exchange, routing_key, topic, properties, payload, payload_encoding, redelivered}`; `toTopic`
 * is the app's topic mapping (the same for every call with one message). Hot path (every
 * delivery to every stream).
 */
export function eventData(
  message: Message,
  redelivered: boolean,
  force: 'auto' | 'base64',
  toTopic: (routingKey: string) => string = defaultToTopic,
): string {
  const cache = force === 'auto' ? autoCache : base64Cache
  let head = cache.get(message)
  if (head === undefined) {
    const { payload, encoding } = encodePayload(message.body, force)
    const json = JSON.stringify({
      exchange: message.exchange,
      routing_key: message.routingKey,
      topic: toTopic(message.routingKey),
      properties: propertiesToJson(message.properties),
      payload,
      payload_encoding: encoding,
    })
    head = json.slice(0, -1)
    cache.set(message, head)
  }
  return redelivered ? `${head},"redelivered":true}` : `${head},"redelivered":false}`
}

// The encoded `data:` line per payload mode and redelivered flag (index: see slot()), with the
// last message of each in front of the WeakMap: a fan-out asks for one message many times in a row.
const lineCaches = [0, 1, 2, 3].map(() => new WeakMap<Message, Uint8Array>())
const lastMessage: (Message | undefined)[] = [undefined, undefined, undefined, undefined]
const lastLine: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]

/**
 * `data: <eventData>\n\n` as UTF-8 bytes, built once per message (and mode) and shared by every
 * stream it goes to: only the `id:` line before it differs between subscribers. The bytes are
 * shared: never modify them. Hot path (every delivery to every stream).
 */
export function eventDataLine(
  message: Message,
  redelivered: boolean,
  force: 'auto' | 'base64',
  toTopic: (routingKey: string) => string = defaultToTopic,
): Uint8Array {
  const slot = (force === 'auto' ? 0 : 2) + (redelivered ? 1 : 0)
  if (lastMessage[slot] === message) return lastLine[slot]!
  const cache = lineCaches[slot]!
  let line = cache.get(message)
  if (line === undefined) {
    line = utf8.encode(`data: ${eventData(message, redelivered, force, toTopic)}\n\n`)
    cache.set(message, line)
  }
  lastMessage[slot] = message
  lastLine[slot] = line
  return line
}
