import { describe, expect, test } from 'bun:test'
import { exchangeTypeNames, getExchangeType, registerExchangeType, type ExchangeType } from './exchange_type.ts'

describe('exchange type registry', () => {
  test('getExchangeType() knows the four built-in types', () => {
    for (const name of ['direct', 'fanout', 'topic', 'headers']) {
      expect(getExchangeType(name)?.name).toBe(name)
    }
    expect(getExchangeType('x-nope')).toBeUndefined()
    expect(getExchangeType('Direct')).toBeUndefined()
  })

  test('registerExchangeType() adds a plugin type and refuses a duplicate name', () => {
    const custom: ExchangeType = { name: 'x-test-custom', create: () => getExchangeType('fanout')!.create() }
    registerExchangeType(custom)
    expect(getExchangeType('x-test-custom')).toBe(custom)
    expect(exchangeTypeNames()).toContain('x-test-custom')
    expect(() => registerExchangeType(custom)).toThrow(TypeError)
    expect(() => registerExchangeType({ ...custom, name: 'direct' })).toThrow(TypeError)
  })
})
