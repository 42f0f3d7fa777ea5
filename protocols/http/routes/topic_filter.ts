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
 * The mapping itself lives in src/core/topic_mapping.ts, shared with the MQTT adapter.
 *
 * @module
 */

import { type TopicMapper, topicMapper } from '../../../src/core/topic_mapping.ts'

/** Translates between MQTT-style topics and AMQP keys (the MQTT adapter's mapping). */
export type TopicMapping = TopicMapper

/** The mapping of config `mqttTopicDotEscaping` (true: escaping). */
export const topicMapping: (escapeDots: boolean) => TopicMapping = topicMapper

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
