/**
 * MQTT-style topic names and filters <-> AMQP routing keys and binding patterns: the one
 * convention the MQTT adapter and the HTTP adapter (topic publish, SSE filters) share, so an SSE
 * filter sees exactly what an MQTT subscription to it sees. Adapters import it (like
 * topic_trie.ts); the core itself routes only AMQP keys.
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

/** Characters of a routing key that must not reach an MQTT topic name as they are. */
const WILDCARD_ESCAPES: Record<string, string> = { '.': '/', '+': '%2B', '#': '%23' }
const PLAIN_TO_MQTT = /[.+#]/g
const PLAIN_SPECIAL = /[.+#]/

const slashesToDots = cached((topic) => topic.replace(SLASH, '.'))
const plainToTopic = cached((key) => key.replace(PLAIN_TO_MQTT, (c) => WILDCARD_ESCAPES[c]!))

/** RabbitMQ's mapping; free for keys without any of the special characters. */
const plain: TopicMapper = {
  toRoutingKey: (topic) => (topic.includes('/') ? slashesToDots(topic) : topic),
  toPattern(filter) {
    const slashed = filter.includes('/') ? filter.replace(SLASH, '.') : filter
    return slashed.includes('+') ? slashed.replace(PLUS, '*') : slashed
  },
  // A '*' in a routing key is a literal character (keys are never patterns): it stays '*'.
  toTopic: (key) => (PLAIN_SPECIAL.test(key) ? plainToTopic(key) : key),
}

const ESCAPES: Record<string, string> = { '%': '%25', '.': '%2E', '*': '%2A', '/': '.', '+': '*' }
// A bare '*' only comes from an AMQP publisher: a literal star, not the '+' it stands for in patterns.
const UNESCAPES: Record<string, string> = { '%25': '%', '%2E': '.', '%2A': '*', '.': '/', '+': '%2B', '#': '%23' }
const TO_AMQP = /[%.*/+]/g
const TO_MQTT = /%25|%2E|%2A|[.+#]/g

/** The escaping mode: every MQTT level survives the round trip, dots included. */
const escaping: TopicMapper = {
  toRoutingKey: cached((topic) => topic.replace(TO_AMQP, (c) => ESCAPES[c]!)),
  toPattern: (filter) => filter.replace(TO_AMQP, (c) => ESCAPES[c]!),
  toTopic: cached((key) => key.replace(TO_MQTT, (c) => UNESCAPES[c]!)),
}

export function topicMapper(escapeDots: boolean): TopicMapper {
  return escapeDots ? escaping : plain
}
