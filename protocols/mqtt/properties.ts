/**
 * MQTT PUBLISH properties <-> the core's message properties, as RabbitMQ's mc_mqtt.erl maps MQTT
 * 5 to AMQP 0-9-1: QoS 0 <-> delivery mode 1, QoS 1/2 <-> 2; Content Type <-> content-type;
 * Correlation Data <-> correlation-id (header x-correlation-id when it is not a valid shortstr);
 * Response Topic <-> header x-reply-to-topic (as a routing key); User Properties <-> headers;
 * Message Expiry Interval (s) <-> expiration (ms).
 *
 * What AMQP has no property for travels in Message.annotations, so MQTT -> MQTT keeps it (the
 * original QoS 2, the retain flag for retain-as-published, the payload format indicator, the
 * publish time for the expiry countdown, the publishing client for no-local).
 *
 * @module
 */
import type { Annotations, FieldValue, Message, MessageProperties, Table } from '../../src/api.ts'
import type { TopicMapper } from './topic.ts'

/** mqtt-packet's User Properties: a repeated name holds an array, in arrival order. */
export type UserProperties = Record<string, string | string[]>

/** The PUBLISH (and will) properties this adapter reads and writes (mqtt-packet's shape). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean
  messageExpiryInterval?: number
  topicAlias?: number
  responseTopic?: string
  correlationData?: Uint8Array
  userProperties?: UserProperties
  subscriptionIdentifier?: number | number[]
  contentType?: string
}

/** Annotation keys; values are small scalars. */
export const ANN = {
  /** Set only for QoS 2: delivery mode 2 means QoS 1 otherwise. */
  qos: 'mqtt.qos',
  /** The PUBLISH had RETAIN set (retain-as-published subscribers see it). */
  retain: 'mqtt.retain',
  payloadFormat: 'mqtt.payload-format',
  /** Epoch ms of the publish, when it had a Message Expiry Interval [MQTT-3.3.2-6]. */
  published: 'mqtt.published',
  /** Client id of the publisher (no-local compares client ids [MQTT-3.8.3-3]). */
  client: 'mqtt.client',
  /** A Content Type too long for the AMQP shortstr. */
  contentType: 'mqtt.content-type',
} as const

const TRANSIENT: MessageProperties = Object.freeze({ deliveryMode: 1 })
const PERSISTENT: MessageProperties = Object.freeze({ deliveryMode: 2 })
const SHORTSTR_MAX = 255
/** The core's (and RabbitMQ's) largest expiration, in ms. */
const MAX_EXPIRATION_MS = 4294967295
const REPLY_TO_TOPIC = 'x-reply-to-topic'
const CORRELATION_HEADER = 'x-correlation-id'

const encoder = new TextEncoder()
const fatalDecoder = new TextDecoder('utf-8', { fatal: true })

function utf8Length(s: string): number {
  // Cheap upper bound first: most strings are short ASCII.
  return s.length * 3 <= SHORTSTR_MAX ? s.length : encoder.encode(s).length
}

/** A correlation data that AMQP can carry as correlation-id: <= 255 bytes, UTF-8, no NUL. */
function asShortstr(bytes: Uint8Array): string | undefined {
  if (bytes.length > SHORTSTR_MAX || bytes.includes(0)) return undefined
  try {
    return fatalDecoder.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * The core properties of an inbound PUBLISH. Without MQTT 5 properties (every v3 publish) the
 * result is a shared frozen object, so the hot path allocates nothing.
 */
export function toMessageProperties(qos: number, props: PublishProperties | undefined, topics: TopicMapper): MessageProperties {
  if (props === undefined) return qos > 0 ? PERSISTENT : TRANSIENT
  const out: MessageProperties = { deliveryMode: qos > 0 ? 2 : 1 }
  if (props.contentType !== undefined && utf8Length(props.contentType) <= SHORTSTR_MAX) out.contentType = props.contentType
  let headers: Table | undefined
  const user = props.userProperties
  if (user !== undefined) {
    for (const name in user) {
      // Field-table keys are shortstrs; RabbitMQ drops longer names too.
      if (utf8Length(name) > SHORTSTR_MAX) continue
      headers ??= {}
      headers[name] = user[name]!
    }
  }
  if (props.responseTopic !== undefined) {
    headers ??= {}
    headers[REPLY_TO_TOPIC] = topics.toRoutingKey(props.responseTopic)
  }
  if (props.correlationData !== undefined) {
    const id = asShortstr(props.correlationData)
    if (id !== undefined) out.correlationId = id
    else {
      headers ??= {}
      headers[CORRELATION_HEADER] = props.correlationData
    }
  }
  if (headers !== undefined) out.headers = headers
  if (props.messageExpiryInterval !== undefined) {
    out.expiration = String(Math.min(props.messageExpiryInterval * 1000, MAX_EXPIRATION_MS))
  }
  return out
}

/**
 * The annotations of an inbound PUBLISH: `base` (the connection's own, naming its client) unless
 * the publish carries something more, then a fresh object.
 */
export function toAnnotations(
  base: Annotations,
  qos: number,
  retain: boolean,
  props: PublishProperties | undefined,
  now: number,
): Annotations {
  const expiring = props?.messageExpiryInterval !== undefined
  const longType = props?.contentType !== undefined && utf8Length(props.contentType) > SHORTSTR_MAX
  if (qos < 2 && !retain && props?.payloadFormatIndicator !== true && !expiring && !longType) return base
  const out: Record<string, string | number | boolean> = { ...base }
  if (qos === 2) out[ANN.qos] = 2
  if (retain) out[ANN.retain] = true
  if (props?.payloadFormatIndicator === true) out[ANN.payloadFormat] = true
  if (expiring) out[ANN.published] = now
  if (longType) out[ANN.contentType] = props!.contentType!
  return out
}

/** The QoS a message was published with: 2 from the annotation, else from the delivery mode. */
export function publishedQos(message: Message): 0 | 1 | 2 {
  if (message.annotations?.[ANN.qos] === 2) return 2
  return message.properties.deliveryMode === 2 ? 1 : 0
}

/** RabbitMQ's amqpl_field_to_utf8_string_pair: header values that have a string form. */
function headerString(v: FieldValue): string | undefined {
  switch (typeof v) {
    case 'string':
      return v.includes('\u0000') ? undefined : v
    case 'number':
    case 'bigint':
      return String(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'undefined':
      return ''
  }
  if (v === null) return ''
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000))
  const typed = v as { kind?: string; value?: number | bigint }
  if (typed.kind === 'typed-number') return String(typed.value)
  // Binary, decimals, tables: no UTF-8 form.
  return undefined
}

function headerValue(v: FieldValue): string | string[] | undefined {
  if (!Array.isArray(v)) return headerString(v)
  // Repeated MQTT user properties come back as repeated names.
  const out: string[] = []
  for (const item of v) {
    if (typeof item !== 'string' || item.includes('\u0000')) return undefined
    out.push(item)
  }
  return out
}

/**
 * MQTT 5 PUBLISH properties for a delivery, or undefined when there are none. `now` drives the
 * Message Expiry Interval countdown of MQTT-published messages [MQTT-3.3.2-6].
 */
export function toPublishProperties(message: Message, topics: TopicMapper, now: number): PublishProperties | undefined {
  const p = message.properties
  const ann = message.annotations
  let out: PublishProperties | undefined
  const contentType = p.contentType ?? (ann?.[ANN.contentType] as string | undefined)
  if (contentType !== undefined) (out ??= {}).contentType = contentType
  if (ann?.[ANN.payloadFormat] === true) (out ??= {}).payloadFormatIndicator = true
  if (p.correlationId !== undefined) (out ??= {}).correlationData = encoder.encode(p.correlationId)
  if (p.expiration !== undefined) {
    let ms = Number(p.expiration)
    const published = ann?.[ANN.published]
    if (typeof published === 'number') ms -= now - published
    if (Number.isFinite(ms)) (out ??= {}).messageExpiryInterval = Math.max(0, Math.floor(ms / 1000))
  }
  const headers = p.headers
  if (headers !== undefined) {
    let user: UserProperties | undefined
    for (const name in headers) {
      const v = headers[name]!
      if (name === REPLY_TO_TOPIC) {
        if (typeof v === 'string') (out ??= {}).responseTopic = topics.toTopic(v)
        continue
      }
      if (name === CORRELATION_HEADER) {
        if (p.correlationId === undefined) {
          if (v instanceof Uint8Array) (out ??= {}).correlationData = v
          else if (typeof v === 'string') (out ??= {}).correlationData = encoder.encode(v)
        }
        continue
      }
      if (name.includes('\u0000')) continue
      const value = headerValue(v)
      if (value === undefined) continue
      user ??= {}
      user[name] = value
    }
    if (user !== undefined) (out ??= {}).userProperties = user
  }
  return out
}
