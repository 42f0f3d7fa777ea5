import { describe, expect, test } from 'bun:test'
import { argumentsHash, findByPropertiesKey, parsePropertiesKey, propertiesKey, quoteBinding, unquoteBinding } from './binding_key.ts'
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

describe('reading a properties key', () => {
  test('unquoteBinding undoes quoteBinding and keeps malformed escapes', () => {
    for (const key of ['a.*', 'a b/#~', 'é', '50%', 'x+y', '']) expect(unquoteBinding(quoteBinding(key))).toBe(key)
    expect(unquoteBinding('50%')).toBe('50%')
    expect(unquoteBinding('%41%zz%')).toBe('A%zz%')
  })

  test('parsePropertiesKey splits at "~": routing key, then the arguments hash', () => {
    expect(parsePropertiesKey('~')).toEqual({ routingKey: '', argsHash: undefined })
    expect(parsePropertiesKey('a.*')).toEqual({ routingKey: 'a.*', argsHash: undefined })
    expect(parsePropertiesKey('a.%2A~abc')).toEqual({ routingKey: 'a.*', argsHash: 'abc' })
    expect(parsePropertiesKey('~abc')).toEqual({ routingKey: '', argsHash: 'abc' })
  })

  test('findByPropertiesKey: the unquoted reading first, then the literal routing key', () => {
    const keyOf = (b: { rk: string }) => ({ routingKey: b.rk, args: {} })
    const plus = { rk: 'x+y' }
    const space = { rk: 'x y' }
    expect(findByPropertiesKey([plus], 'x+y', keyOf)).toBe(plus)
    expect(findByPropertiesKey([plus, space], 'x+y', keyOf)).toBe(space)
    expect(findByPropertiesKey([plus], 'x%2By', keyOf)).toBe(plus)
    expect(findByPropertiesKey([plus], 'x', keyOf)).toBeUndefined()
    const withArgs = { routingKey: 'k', args: { a: 1 } }
    expect(findByPropertiesKey([withArgs], 'k', (b) => b)).toBeUndefined()
    expect(findByPropertiesKey([withArgs], propertiesKey('k', { a: 1 }), (b) => b)).toBe(withArgs)
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
