/**
 * MQTT-style topics and filters for the web messaging routes (`POST /api/topics/…`, SSE
 * `filter=`), translated exactly as the MQTT adapter translates them (config
 * `mqttTopicDotEscaping`), so an SSE filter sees what an MQTT subscription to it sees:
 * - escaping (the default): '/' <-> '.', '+' <-> '*', '#' stays, and '%', '.' and '*' inside a
 *   level are percent-escaped ("%25", "%2E", "%2A"): every level is one AMQP word, MQTT semantics;
 * - RabbitMQ's lossy mapping (rabbit_mqtt_util:mqtt_to_amqp/1): '/' <-> '.', '+' -> '*', so a
 *   '.' inside a level splits it into AMQP words.
 * A routing key never becomes a topic with wildcard characters: '+' and '#' show as "%2B", "%23".
 *
 * The HTTP adapter keeps its own copy of protocols/mqtt/topic.ts's mapping rather than importing
 * it (adapters never import each other); keep the two in step.
 *
 * @module
 */

/** Translates between MQTT-style topics and AMQP keys. */
export interface TopicMapping {
  /** A topic name -> routing key ("a/b" -> "a.b"). */
  toRoutingKey(topic: string): string
  /** A valid filter -> binding pattern ("a/+/#" -> "a.*.#"). */
  toPattern(filter: string): string
  /** A routing key -> the topic a subscriber sees ("a.b" -> "a/b"). Hot path. */
  toTopic(routingKey: string): string
}

/** Most keys a mapping remembers; an SSE fan-out mostly repeats a few. */
const CACHE_LIMIT = 4096

/** Memoizes a translation (on the delivery path, a replace would allocate each time). */
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

const PLAIN_TO_TOPIC: Record<string, string> = { '.': '/', '+': '%2B', '#': '%23' }
const PLAIN_SPECIAL = /[.+#]/
const PLAIN_TO_MQTT = /[.+#]/g
const lossyToTopic = cached((key) => key.replace(PLAIN_TO_MQTT, (c) => PLAIN_TO_TOPIC[c]!))

/** RabbitMQ's lossy mapping; free for keys without special characters. */
const lossy: TopicMapping = {
  toRoutingKey: (topic) => (topic.includes('/') ? topic.replaceAll('/', '.') : topic),
  toPattern(filter) {
    const slashed = filter.includes('/') ? filter.replaceAll('/', '.') : filter
    return slashed.includes('+') ? slashed.replaceAll('+', '*') : slashed
  },
  // A '*' in a routing key is a literal character (keys are never patterns): it stays '*'.
  toTopic: (key) => (PLAIN_SPECIAL.test(key) ? lossyToTopic(key) : key),
}

const ESCAPES: Record<string, string> = { '%': '%25', '.': '%2E', '*': '%2A', '/': '.', '+': '*' }
const UNESCAPES: Record<string, string> = { '%25': '%', '%2E': '.', '%2A': '*', '.': '/', '+': '%2B', '#': '%23' }
const TO_AMQP = /[%.*/+]/g
const TO_MQTT = /%25|%2E|%2A|[.+#]/g

/** The escaping mapping: every MQTT level survives the round trip, dots included. */
const escaping: TopicMapping = {
  toRoutingKey: cached((topic) => topic.replace(TO_AMQP, (c) => ESCAPES[c]!)),
  toPattern: (filter) => filter.replace(TO_AMQP, (c) => ESCAPES[c]!),
  toTopic: cached((key) => key.replace(TO_MQTT, (c) => UNESCAPES[c]!)),
}

/** The mapping of config `mqttTopicDotEscaping` (true: escaping). */
export function topicMapping(escapeDots: boolean): TopicMapping {
  return escapeDots ? escaping : lossy
}

/**
 * An MQTT filter -> AMQP binding pattern ("a/+/#" -> "a.*.#"), or a sentence saying why the
 * filter is invalid: '+' and '#' only as whole levels and '#' only last [MQTT-4.7.1-2, -3].
 */
export function filterToPattern(filter: string, topics: TopicMapping): { pattern: string } | { problem: string } {
  if (filter.length === 0) return { problem: 'Topic filter must not be empty' }
  const n = filter.length
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i)
    if (c === 0) return { problem: `Topic filter "${filter}" contains a null character` }
    if (c !== 0x2b && c !== 0x23) continue
    const alone = (i === 0 || filter.charCodeAt(i - 1) === 0x2f) && (i === n - 1 || filter.charCodeAt(i + 1) === 0x2f)
    if (!alone || (c === 0x23 && i !== n - 1)) {
      return { problem: `Topic filter "${filter}" uses a wildcard inside a level or '#' before the last level` }
    }
  }
  return { pattern: topics.toPattern(filter) }
}

/** Why `topic` cannot be published to (wildcards or a null character), or undefined when fine [MQTT-4.7.3-1]. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'Topic must not be empty'
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === 0x2b || c === 0x23) return `Topic "${topic}" must not contain the wildcards '+' or '#'`
    if (c === 0) return `Topic "${topic}" contains a null character`
  }
  return undefined
}
