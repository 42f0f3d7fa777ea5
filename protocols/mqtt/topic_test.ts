import { describe, expect, test } from 'bun:test'
import { isWellFormedUtf8, parseSharedFilter, topicFilterProblem, topicMapper, topicNameProblem } from './topic.ts'

describe('topicMapper (RabbitMQ mapping)', () => {
  const m = topicMapper(false)

  test('topic names map "/" to "."', () => {
    expect(m.toRoutingKey('a/b/c')).toBe('a.b.c')
    expect(m.toRoutingKey('/leading')).toBe('.leading')
    expect(m.toRoutingKey('plain')).toBe('plain')
  })

  test('filters map "+" to "*" and keep "#"', () => {
    expect(m.toPattern('a/+/#')).toBe('a.*.#')
    expect(m.toPattern('+')).toBe('*')
    expect(m.toPattern('#')).toBe('#')
  })

  test('routing keys map back; a "*" stays a literal "*" (a topic name never holds a wildcard)', () => {
    expect(m.toTopic('a.b.c')).toBe('a/b/c')
    expect(m.toTopic('a.*')).toBe('a/*')
    expect(m.toTopic(m.toRoutingKey('a*b'))).toBe('a*b')
    expect(m.toTopic('plain')).toBe('plain')
  })

  test('"+" and "#" in a routing key arrive percent-escaped [MQTT-3.3.2-2]', () => {
    expect(m.toTopic('a.+.#')).toBe('a/%2B/%23')
  })

  test('the dot caveat: a dotted MQTT topic comes back split into levels', () => {
    expect(m.toTopic(m.toRoutingKey('v1.2/x'))).toBe('v1/2/x')
  })

  test('repeated translations give the same strings (cached)', () => {
    expect(m.toRoutingKey('c/d')).toBe(m.toRoutingKey('c/d'))
  })
})

describe('topicMapper (dot escaping)', () => {
  const m = topicMapper(true)

  test('dots, stars and percent signs survive the round trip', () => {
    for (const topic of ['v1.2/x', 'a/b', '100%/done', 'lit*eral/*', 'a.b.c/d%2Ee']) {
      expect(m.toTopic(m.toRoutingKey(topic))).toBe(topic)
    }
  })

  test('a routing key never becomes a topic with wildcards [MQTT-3.3.2-2]', () => {
    expect(m.toTopic('a.*')).toBe('a/*')
    expect(m.toTopic('a.+.#')).toBe('a/%2B/%23')
  })

  test('a literal "*" level is no wildcard', () => {
    expect(m.toPattern('*')).toBe('%2A')
    expect(m.toPattern('a/+/*')).toBe('a.*.%2A')
  })

  test('an escaped dot stays inside one AMQP word', () => {
    expect(m.toRoutingKey('v1.2/x')).toBe('v1%2E2.x')
    expect(m.toPattern('v1.2/+')).toBe('v1%2E2.*')
  })
})

describe('topicNameProblem', () => {
  test('accepts ordinary names, "$" topics and empty levels', () => {
    for (const t of ['a', 'a/b', '/', 'a//b', '$SYS/x', 'ü/ß']) expect(topicNameProblem(t)).toBeUndefined()
  })

  test('refuses empty names, wildcards and NUL', () => {
    expect(topicNameProblem('')).toBe('empty')
    expect(topicNameProblem('a/+')).toBe('wildcard')
    expect(topicNameProblem('a/#')).toBe('wildcard')
    expect(topicNameProblem('a\u0000b')).toBe('null-character')
  })
})

describe('topicFilterProblem', () => {
  test('accepts whole-level wildcards', () => {
    for (const f of ['#', '+', 'a/+/b', 'a/#', '+/+', '/#', 'a//+']) expect(topicFilterProblem(f)).toBeUndefined()
  })

  test('refuses "#" not last, partial-level wildcards, empty and NUL', () => {
    expect(topicFilterProblem('a/#/b')).toBe('bad-wildcard')
    expect(topicFilterProblem('a+')).toBe('bad-wildcard')
    expect(topicFilterProblem('a/b#')).toBe('bad-wildcard')
    expect(topicFilterProblem('')).toBe('empty')
    expect(topicFilterProblem('a\u0000')).toBe('null-character')
  })
})

describe('parseSharedFilter', () => {
  test('splits group and filter', () => {
    expect(parseSharedFilter('$share/g1/a/+/c')).toEqual({ group: 'g1', filter: 'a/+/c' })
    expect(parseSharedFilter('$share/g/#')).toEqual({ group: 'g', filter: '#' })
  })

  test('ordinary filters are not shared', () => {
    expect(parseSharedFilter('a/b')).toBeUndefined()
    expect(parseSharedFilter('$SYS/#')).toBeUndefined()
  })

  test('refuses an empty or wildcard group and a missing filter', () => {
    expect(parseSharedFilter('$share//a')).toBe('invalid')
    expect(parseSharedFilter('$share/g+/a')).toBe('invalid')
    expect(parseSharedFilter('$share/g')).toBe('invalid')
    expect(parseSharedFilter('$share/g/')).toBe('invalid')
    expect(parseSharedFilter('$share/g/a/#/b')).toBe('invalid')
  })
})

describe('isWellFormedUtf8', () => {
  const bytes = (...b: number[]) => new Uint8Array(b)

  test('accepts ASCII and multi-byte characters', () => {
    const s = new TextEncoder().encode('aü€😀')
    expect(isWellFormedUtf8(s, 0, s.length)).toBe(true)
  })

  test('refuses a lone continuation byte, a truncated sequence, an overlong form and a surrogate', () => {
    expect(isWellFormedUtf8(bytes(0x61, 0x80), 0, 2)).toBe(false)
    expect(isWellFormedUtf8(bytes(0xe2, 0x82), 0, 2)).toBe(false)
    expect(isWellFormedUtf8(bytes(0xc0, 0xaf), 0, 2)).toBe(false)
    expect(isWellFormedUtf8(bytes(0xed, 0xa0, 0x80), 0, 3)).toBe(false)
  })

  test('checks only the given range', () => {
    expect(isWellFormedUtf8(bytes(0xff, 0x61, 0x62, 0xff), 1, 3)).toBe(true)
  })
})
