import { describe, expect, test } from 'bun:test'
import { argumentsHash, propertiesKey, quoteBinding } from './binding_key.ts'
import { sortItems } from './paging.ts'

describe('propertiesKey', () => {
  test('"~" for an empty key without arguments, the quoted key otherwise', () => {
    expect(propertiesKey('', {})).toBe('~')
    expect(propertiesKey('a.b-c_d', {})).toBe('a.b-c_d')
    expect(propertiesKey('a b/#~', {})).toBe('a+b%2F%23%7E')
    expect(quoteBinding('é')).toBe('%C3%A9')
  })

  test('arguments add "~" and a hash that ignores key order', () => {
    const key = propertiesKey('rk', { b: 1, a: [true, 'x'] })
    expect(key).toMatch(/^rk~[A-Za-z0-9_-]{6}$/)
    expect(argumentsHash({ a: [true, 'x'], b: 1 })).toBe(key.slice(3))
    expect(argumentsHash({ a: 1 })).not.toBe(argumentsHash({ a: 2 }))
  })
})

describe('sortItems', () => {
  test('sorts numbers before strings, missing as 0, by the sort key then the defaults', () => {
    const items = [
      { vhost: '/', name: 'b', n: 2 },
      { vhost: '/', name: 'a', n: 'x' },
      { vhost: '/', name: 'c' },
      { vhost: '/', name: 'd', n: 1 },
    ]
    expect(sortItems([...items], ['vhost', 'name'], { sort: 'n' }).map((i) => i.name)).toEqual(['c', 'd', 'b', 'a'])
    expect(sortItems([...items], ['vhost', 'name'], { sort_reverse: 'true' }).map((i) => i.name)).toEqual(['d', 'c', 'b', 'a'])
  })
})
