import { describe, expect, test } from 'bun:test'
import { filterToPattern, topicMapping, topicNameProblem } from './topic_filter.ts'

describe('topic_filter', () => {
  const escaping = topicMapping(true)
  const lossy = topicMapping(false)

  test('filterToPattern maps MQTT wildcards as RabbitMQ does', () => {
    for (const m of [escaping, lossy]) {
      expect(filterToPattern('a/+/#', m)).toEqual({ pattern: 'a.*.#' })
      expect(filterToPattern('#', m)).toEqual({ pattern: '#' })
      expect(filterToPattern('+', m)).toEqual({ pattern: '*' })
      expect(filterToPattern('sensors/kitchen', m)).toEqual({ pattern: 'sensors.kitchen' })
    }
  })

  test('filterToPattern refuses wildcards inside a level, # before the end, empty filters', () => {
    for (const bad of ['a/b#', 'a+/b', 'a/#/b', '', 'a\u0000b']) {
      expect('problem' in filterToPattern(bad, escaping)).toBe(true)
    }
  })

  test('topics and routing keys round-trip', () => {
    for (const m of [escaping, lossy]) {
      expect(m.toRoutingKey('a/b/c')).toBe('a.b.c')
      expect(m.toTopic('a.b.c')).toBe('a/b/c')
      expect(m.toTopic('plain')).toBe('plain')
    }
  })

  test('escaping (the default): a dot or star inside a level stays in its level, as for MQTT', () => {
    expect(escaping.toRoutingKey('T/v1.2/x')).toBe('T.v1%2E2.x')
    expect(filterToPattern('T/+/x', escaping)).toEqual({ pattern: 'T.*.x' })
    expect(filterToPattern('*', escaping)).toEqual({ pattern: '%2A' })
    for (const topic of ['T/v1.2/x', 'a*b', '100%/x', '*']) expect(escaping.toTopic(escaping.toRoutingKey(topic))).toBe(topic)
  })

  test('lossy: a dot splits the level; a literal star stays a star in topics', () => {
    expect(lossy.toRoutingKey('T/v1.2/x')).toBe('T.v1.2.x')
    expect(lossy.toTopic(lossy.toRoutingKey('a*b'))).toBe('a*b')
  })

  test('a routing key with "+" or "#" never becomes a topic with wildcards', () => {
    for (const m of [escaping, lossy]) {
      expect(m.toTopic('a.+.#')).toBe('a/%2B/%23')
      expect(m.toTopic('a.*')).toBe('a/*')
    }
  })

  test('topicNameProblem refuses wildcards and empty names', () => {
    expect(topicNameProblem('a/b')).toBeUndefined()
    expect(topicNameProblem('a/+')).toBeString()
    expect(topicNameProblem('a/#')).toBeString()
    expect(topicNameProblem('')).toBeString()
  })
})
