import { describe, expect, test } from 'bun:test'
import { filterToPattern, routingKeyToTopic, topicNameProblem, topicToRoutingKey } from './topic_filter.ts'

describe('topic_filter', () => {
  test('filterToPattern maps MQTT wildcards as RabbitMQ does', () => {
    expect(filterToPattern('a/+/#')).toEqual({ pattern: 'a.*.#' })
    expect(filterToPattern('#')).toEqual({ pattern: '#' })
    expect(filterToPattern('+')).toEqual({ pattern: '*' })
    expect(filterToPattern('sensors/kitchen')).toEqual({ pattern: 'sensors.kitchen' })
  })

  test('filterToPattern refuses wildcards inside a level, # before the end, empty filters', () => {
    for (const bad of ['a/b#', 'a+/b', 'a/#/b', '', 'a\u0000b']) {
      expect('problem' in filterToPattern(bad)).toBe(true)
    }
  })

  test('topics and routing keys round-trip', () => {
    expect(topicToRoutingKey('a/b/c')).toBe('a.b.c')
    expect(routingKeyToTopic('a.b.c')).toBe('a/b/c')
    expect(routingKeyToTopic('plain')).toBe('plain')
  })

  test('topicNameProblem refuses wildcards and empty names', () => {
    expect(topicNameProblem('a/b')).toBeUndefined()
    expect(topicNameProblem('a/+')).toBeString()
    expect(topicNameProblem('a/#')).toBeString()
    expect(topicNameProblem('')).toBeString()
  })
})
