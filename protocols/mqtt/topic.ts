/**
 * MQTT topics and filters <-> AMQP routing keys and binding patterns, as RabbitMQ's MQTT plugin
 * maps them (rabbit_mqtt_util:mqtt_to_amqp/amqp_to_mqtt): '/' <-> '.', '+' <-> '*', '#' <-> '#'.
 * Plus the validation rules of MQTT 3.1.1 / 5.0 section 4.7 and shared-subscription parsing.
 *
 * The dot caveat: with the default mapping an MQTT topic containing '.' is split into more AMQP
 * words than it has MQTT levels ("a.b" becomes the two words "a" and "b"), so it matches the
 * filter "a/b" and comes back to MQTT subscribers as "a/b"; likewise a literal '*' level in an
 * MQTT filter becomes an AMQP wildcard. RabbitMQ behaves the same. The opt-in escaping mode
 * (config `mqttTopicDotEscaping`) keeps such topics intact by percent-escaping '%', '.' and '*'
 * inside MQTT levels ("%25", "%2E", "%2A"); AMQP publishers must then use the escaped form.
 *
 * @module
 */

/** Translates between MQTT names and AMQP keys in one direction or the other. */
export interface TopicMapper {
  /** A PUBLISH topic name -> routing key ("a/b" -> "a.b"). */
  toRoutingKey(topic: string): string
  /** A subscription filter -> binding pattern ("a/+/#" -> "a.*.#"). */
  toPattern(filter: string): string
  /** A routing key -> the topic name an MQTT subscriber sees ("a.b" -> "a/b"). */
  toTopic(routingKey: string): string
}

const SLASH = /\//g
const PLUS = /\+/g
const DOT = /\./g
const STAR = /\*/g

/** Most topics a mapper remembers; a publisher or subscriber mostly repeats a few. */
const CACHE_LIMIT = 4096

/** Memoizes a translation (on the publish and delivery paths, a replace would allocate each time). */
function cached(translate: (s: string) => string): (s: string) => string {
  const cache = new Map<string, string>()
  return (s) => {
    let out = cache.get(s)
    if (out === undefined) {
      out = translate(s)
      // Bounded: start over rather than track recency.
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(s, out)
    }
    return out
  }
}

const slashesToDots = cached((topic) => topic.replace(SLASH, '.'))
const dotsToSlashes = cached((key) => {
  const slashed = key.replace(DOT, '/')
  return slashed.includes('*') ? slashed.replace(STAR, '+') : slashed
})

/** RabbitMQ's mapping; free for keys without any of the special characters. */
const plain: TopicMapper = {
  toRoutingKey: (topic) => (topic.includes('/') ? slashesToDots(topic) : topic),
  toPattern(filter) {
    const slashed = filter.includes('/') ? filter.replace(SLASH, '.') : filter
    return slashed.includes('+') ? slashed.replace(PLUS, '*') : slashed
  },
  toTopic: (key) => (key.includes('.') ? dotsToSlashes(key) : key.includes('*') ? key.replace(STAR, '+') : key),
}

const ESCAPES: Record<string, string> = { '%': '%25', '.': '%2E', '*': '%2A', '/': '.', '+': '*' }
const UNESCAPES: Record<string, string> = { '%25': '%', '%2E': '.', '%2A': '*', '.': '/', '*': '+' }
const TO_AMQP = /[%.*/+]/g
const TO_MQTT = /%25|%2E|%2A|[.*]/g

/** The escaping mode: every MQTT level survives the round trip, dots included. */
const escaping: TopicMapper = {
  toRoutingKey: cached((topic) => topic.replace(TO_AMQP, (c) => ESCAPES[c]!)),
  toPattern: (filter) => filter.replace(TO_AMQP, (c) => ESCAPES[c]!),
  toTopic: cached((key) => key.replace(TO_MQTT, (c) => UNESCAPES[c]!)),
}

export function topicMapper(escapeDots: boolean): TopicMapper {
  return escapeDots ? escaping : plain
}

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
