/**
 * MQTT topics and filters <-> AMQP routing keys and binding patterns, plus the validation rules of
 * MQTT 3.1.1 / 5.0 section 4.7 and shared-subscription parsing.
 *
 * Two mappings (config `mqttTopicDotEscaping`):
 * - escaping (the default): '/' <-> '.', '+' <-> '*', '#' <-> '#', and '%', '.' and '*' inside
 *   an MQTT level are percent-escaped ("%25", "%2E", "%2A"), so every MQTT level is exactly one
 *   AMQP word and matching follows MQTT semantics: "T/v1.2/x" matches "T/+/x", a literal '*'
 *   level is no wildcard. AMQP publishers and bindings see '.' inside a level as "%2E".
 * - RabbitMQ's lossy mapping (rabbit_mqtt_util:mqtt_to_amqp/amqp_to_mqtt, `false`): '/' <-> '.'
 *   and '+' -> '*' in filters, nothing escaped, so "a.b" becomes the two AMQP words "a" and "b" and matches the filter "a/b", and a literal '*'
 *   level in a filter is an AMQP wildcard.
 *
 * Either way a routing key becomes a topic name without wildcard characters (a PUBLISH topic name
 * never holds one [MQTT-3.3.2-2], whoever sends it): a '+' or '#' in a key an AMQP publisher
 * chose arrives as "%2B" / "%23", and a '*' as a literal '*'.
 *
 * @module
 */

export { type TopicMapper, topicMapper } from '../../src/core/topic_mapping.ts'

/** Why a name or filter is refused; the adapter maps it to a reason code. */
export type TopicProblem = 'empty' | 'wildcard' | 'null-character' | 'bad-wildcard' | 'too-long'

/** Checks a PUBLISH (or will) topic name [MQTT-4.7.1-1], [MQTT-4.7.3-1], [MQTT-1.5.4-2]. */
export function topicNameProblem(topic: string): TopicProblem | undefined {
  if (topic.length === 0) return 'empty'
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === 0x2b || c === 0x23) return 'wildcard'
    if (c === 0) return 'null-character'
  }
  return undefined
}

/** Checks a subscription filter: '#' only as the whole last level, '+' only as a whole level [MQTT-4.7.1-2, -3]. */
export function topicFilterProblem(filter: string): TopicProblem | undefined {
  if (filter.length === 0) return 'empty'
  const n = filter.length
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i)
    if (c === 0) return 'null-character'
    if (c !== 0x2b && c !== 0x23) continue
    const alone = (i === 0 || filter.charCodeAt(i - 1) === 0x2f) && (i === n - 1 || filter.charCodeAt(i + 1) === 0x2f)
    if (!alone) return 'bad-wildcard'
    if (c === 0x23 && i !== n - 1) return 'bad-wildcard'
  }
  return undefined
}

export interface SharedFilter {
  group: string
  filter: string
}

const SHARE_PREFIX = '$share/'

/**
 * Splits "$share/{group}/{filter}" (MQTT 5 section 4.8.2). Returns undefined for an ordinary
 * filter and 'invalid' for a malformed shared one (empty or wildcard group, no filter).
 */
export function parseSharedFilter(filter: string): SharedFilter | 'invalid' | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined
  const slash = filter.indexOf('/', SHARE_PREFIX.length)
  if (slash < 0) return 'invalid'
  const group = filter.slice(SHARE_PREFIX.length, slash)
  const rest = filter.slice(slash + 1)
  if (group.length === 0 || group.includes('+') || group.includes('#')) return 'invalid'
  if (topicFilterProblem(rest) !== undefined) return 'invalid'
  return { group, filter: rest }
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Whether bytes[start, end) is well-formed UTF-8 [MQTT-1.5.4-1]: no overlong forms, no
 * surrogates (TextDecoder's fatal mode enforces both). ASCII, the common case, is checked inline.
 */
export function isWellFormedUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end && bytes[i]! < 0x80) i++
  if (i === end) return true
  try {
    fatalDecoder.decode(bytes.subarray(i, end))
    return true
  } catch {
    return false
  }
}
