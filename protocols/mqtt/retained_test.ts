import { describe, expect, test } from 'bun:test'
import { MemoryKeyValueStore } from '../../src/store/memory_key_value.ts'
import { decodeRetained, encodeRetained, RetainedStore, type RetainedMessage } from './retained.ts'
import { topicMapper } from './topic.ts'

const bytes = (s: string) => new TextEncoder().encode(s)

function retained(topic: string, payload = 'x', extra: Partial<RetainedMessage> = {}): RetainedMessage {
  return { topic, payload: bytes(payload), qos: 1, properties: undefined, storedAt: 1000, ...extra }
}

function topicsOf(list: RetainedMessage[]): string[] {
  return list.map((m) => m.topic).sort()
}

describe('RetainedStore', () => {
  const store = new RetainedStore()
  for (const t of ['a', 'a/b', 'a/b/c', 'a/c', 'x/y', '$SYS/info', 'a//b']) store.set('/', retained(t))
  store.set('other', retained('a/b'))

  test('an exact filter finds its topic only', () => {
    expect(topicsOf(store.match('/', 'a/b', 1000))).toEqual(['a/b'])
    expect(store.match('/', 'nope', 1000)).toEqual([])
  })

  test('"+" matches one level, empty levels included', () => {
    expect(topicsOf(store.match('/', 'a/+', 1000))).toEqual(['a/b', 'a/c'])
    expect(topicsOf(store.match('/', 'a/+/b', 1000))).toEqual(['a//b'])
  })

  test('"#" matches the parent level and everything below [MQTT-4.7.1-2]', () => {
    expect(topicsOf(store.match('/', 'a/#', 1000))).toEqual(['a', 'a//b', 'a/b', 'a/b/c', 'a/c'])
  })

  test('leading wildcards do not match "$" topics [MQTT-4.7.2-1]', () => {
    expect(topicsOf(store.match('/', '#', 1000))).not.toContain('$SYS/info')
    expect(topicsOf(store.match('/', '+/info', 1000))).toEqual([])
    expect(topicsOf(store.match('/', '$SYS/#', 1000))).toEqual(['$SYS/info'])
  })

  test('vhosts are separate', () => {
    expect(topicsOf(store.match('other', '#', 1000))).toEqual(['a/b'])
    expect(store.count('/')).toBe(7)
  })

  test('a new message replaces the old one; an empty payload clears it [MQTT-3.3.1-10]', () => {
    const s = new RetainedStore()
    s.set('/', retained('t', 'one'))
    s.set('/', retained('t', 'two'))
    expect(new TextDecoder().decode(s.match('/', 't', 1000)[0]!.payload)).toBe('two')
    s.set('/', retained('t', ''))
    expect(s.match('/', '#', 1000)).toEqual([])
    expect(s.count('/')).toBe(0)
  })

  test('an expired message is not returned and is dropped', () => {
    const s = new RetainedStore()
    s.set('/', retained('e', 'x', { properties: { messageExpiryInterval: 1 }, storedAt: 1000 }))
    expect(s.match('/', 'e', 1999)).toHaveLength(1)
    expect(s.match('/', 'e', 2000)).toHaveLength(0)
    expect(s.count('/')).toBe(0)
  })

  test('messages live in the key-value store and load from it', () => {
    const kv = new MemoryKeyValueStore()
    const first = new RetainedStore()
    first.attach(kv)
    first.set('/', retained('k/v', 'kept', { properties: { contentType: 'text/plain', correlationData: new Uint8Array([0, 9]) } }))
    const second = new RetainedStore()
    second.attach(kv)
    const [m] = second.match('/', 'k/#', 1000)
    expect(new TextDecoder().decode(m!.payload)).toBe('kept')
    expect(m!.properties?.contentType).toBe('text/plain')
    expect([...m!.properties!.correlationData!]).toEqual([0, 9])
  })

  test('the stored payload is a copy, not a view of the publish buffer', () => {
    const s = new RetainedStore()
    const chunk = bytes('--payload--')
    s.set('/', { ...retained('c'), payload: chunk.subarray(2, 9) })
    chunk.fill(0)
    expect(new TextDecoder().decode(s.match('/', 'c', 1000)[0]!.payload)).toBe('payload')
  })
})

describe('RetainedStore matches as live messages route', () => {
  test('escaping mapping (the default): MQTT levels, dots and stars included', () => {
    const s = new RetainedStore(topicMapper(true))
    for (const t of ['T/v1.2/x', 'a*b', 'sport', '*']) s.set('/', retained(t))
    expect(topicsOf(s.match('/', 'T/+/x', 1000))).toEqual(['T/v1.2/x'])
    expect(topicsOf(s.match('/', 'T/v1/2/x', 1000))).toEqual([])
    expect(topicsOf(s.match('/', '*', 1000))).toEqual(['*'])
    expect(topicsOf(s.match('/', 'a*b', 1000))).toEqual(['a*b'])
  })

  test("lossy mapping: a dot splits a level, '*' in a filter is a wildcard, as in live routing", () => {
    const s = new RetainedStore(topicMapper(false))
    for (const t of ['T/v1.2/x', 'sport']) s.set('/', retained(t))
    expect(topicsOf(s.match('/', 'T/+/x', 1000))).toEqual([])
    expect(topicsOf(s.match('/', 'T/v1/2/x', 1000))).toEqual(['T/v1.2/x'])
    expect(topicsOf(s.match('/', '*', 1000))).toEqual(['sport'])
    s.set('/', retained('T/v1.2/x', ''))
    expect(s.count('/')).toBe(1)
  })
})

describe('encodeRetained / decodeRetained', () => {
  test('round trip', () => {
    const m = retained('a/b', 'body', { qos: 2, properties: { userProperties: { k: ['1', '2'] } }, storedAt: 42 })
    const back = decodeRetained('a/b', encodeRetained(m))
    expect(back).toEqual({ ...m, payload: bytes('body') })
  })

  test('an unknown format is ignored', () => {
    expect(decodeRetained('t', new Uint8Array([9, 0, 0, 0, 0, 0]))).toBeUndefined()
  })
})
