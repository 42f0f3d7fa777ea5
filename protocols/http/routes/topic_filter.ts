/**
 * MQTT-style topics and filters for the web messaging routes, translated the way RabbitMQ's MQTT
 * plugin translates them (rabbit_mqtt_util:mqtt_to_amqp/1): '/' <-> '.', '+' <-> '*', '#' stays.
 * The HTTP adapter keeps its own copy rather than importing protocols/mqtt (adapters never import
 * each other); both follow the same mapping, so an SSE filter "a/+/#" sees exactly what an MQTT
 * subscription to it sees.
 *
 * @module
 */

/** A PUBLISH-style topic name -> AMQP routing key ("a/b" -> "a.b"). */
export function topicToRoutingKey(topic: string): string {
  return topic.includes('/') ? topic.replaceAll('/', '.') : topic
}

/** A routing key -> the MQTT topic a subscriber sees ("a.b" -> "a/b"). Hot path: no work for plain keys. */
export function routingKeyToTopic(key: string): string {
  const slashed = key.includes('.') ? key.replaceAll('.', '/') : key
  return slashed.includes('*') ? slashed.replaceAll('*', '+') : slashed
}

/**
 * An MQTT filter -> AMQP binding pattern ("a/+/#" -> "a.*.#"), or a sentence saying why the
 * filter is invalid: '+' and '#' only as whole levels and '#' only last [MQTT-4.7.1-2, -3].
 */
export function filterToPattern(filter: string): { pattern: string } | { problem: string } {
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
  const slashed = filter.includes('/') ? filter.replaceAll('/', '.') : filter
  return { pattern: slashed.includes('+') ? slashed.replaceAll('+', '*') : slashed }
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
