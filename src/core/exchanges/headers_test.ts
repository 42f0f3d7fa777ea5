import { describe, expect, test } from 'bun:test'
import { BrokerError, type Table } from '../../api.ts'
import { runExchangeContract } from '../exchange_contract.ts'
import { getExchangeType } from '../exchange_type.ts'

const headers = getExchangeType('headers')!
runExchangeContract(headers)

function matches(args: Table | undefined, messageHeaders: Table | undefined): boolean {
  const router = headers.create<string>()
  router.bind('q', '', args)
  const out: string[] = []
  router.route('ignored', messageHeaders, out)
  return out.length === 1
}

describe('headers exchange: x-match all (default)', () => {
  const cases: [string, Table | undefined, Table | undefined, boolean][] = [
    ['no args match everything', undefined, undefined, true],
    ['no args match any headers', {}, { a: 1 }, true],
    ['one key equal', { a: 'x' }, { a: 'x', b: 2 }, true],
    ['one key different', { a: 'x' }, { a: 'y' }, false],
    ['one key missing', { a: 'x', b: 'y' }, { a: 'x' }, false],
    ['no headers', { a: 'x' }, undefined, false],
    ['explicit all', { 'x-match': 'all', a: 1, b: 2 }, { a: 1, b: 2, c: 3 }, true],
    ['x- args are ignored', { 'x-match': 'all', a: 1, 'x-b': 2 }, { a: 1 }, true],
    ['only x- args: vacuously true', { 'x-foo': 'bar' }, undefined, true],
    ['void matches presence', { a: null }, { a: 'anything' }, true],
    ['undefined value matches presence', { a: undefined }, { a: 0 }, true],
    ['void still needs presence', { a: null }, { b: 1 }, false],
    ['numbers compare by value (1 vs 1.0)', { a: 1 }, { a: 1.0 }, true],
    ['number vs bigint', { a: 5 }, { a: 5n }, true],
    ['typed byte vs plain number', { a: { kind: 'typed-number', type: 'b', value: 7 } }, { a: 7 }, true],
    ['number vs string', { a: 1 }, { a: '1' }, false],
    ['bool vs number', { a: true }, { a: 1 }, false],
    ['string vs bytes with the same UTF-8', { a: 'hé' }, { a: new TextEncoder().encode('hé') }, true],
    ['nested table', { a: { b: [1, 'x'] } }, { a: { b: [1, 'x'] } }, true],
    ['nested table differs', { a: { b: [1, 'x'] } }, { a: { b: [1, 'y'] } }, false],
    ['unknown x-match value routes as all (legacy)', { 'x-match': 'bogus', a: 1, b: 2 }, { a: 1 }, false],
  ]
  for (const [name, args, data, expected] of cases) test(name, () => expect(matches(args, data)).toBe(expected))
})

describe('headers exchange: x-match any', () => {
  const cases: [string, Table | undefined, Table | undefined, boolean][] = [
    ['no other args match nothing', { 'x-match': 'any' }, { a: 1 }, false],
    ['one of two equal', { 'x-match': 'any', a: 1, b: 2 }, { b: 2 }, true],
    ['none equal', { 'x-match': 'any', a: 1, b: 2 }, { a: 2, b: 1 }, false],
    ['no headers', { 'x-match': 'any', a: 1 }, undefined, false],
    ['x- args are ignored', { 'x-match': 'any', 'x-a': 1 }, { 'x-a': 1 }, false],
    ['void matches presence', { 'x-match': 'any', a: null, b: 1 }, { a: false }, true],
  ]
  for (const [name, args, data, expected] of cases) test(name, () => expect(matches(args, data)).toBe(expected))
})

describe('headers exchange: x-match *-with-x', () => {
  const cases: [string, Table | undefined, Table | undefined, boolean][] = [
    ['all-with-x considers x- args', { 'x-match': 'all-with-x', 'x-a': 1 }, { 'x-a': 1 }, true],
    ['all-with-x fails on a missing x- header', { 'x-match': 'all-with-x', 'x-a': 1, b: 2 }, { b: 2 }, false],
    ['all-with-x never considers x-match itself', { 'x-match': 'all-with-x', a: 1 }, { a: 1 }, true],
    ['any-with-x matches on an x- header', { 'x-match': 'any-with-x', 'x-a': 1, b: 2 }, { 'x-a': 1 }, true],
    ['any-with-x with nothing matching', { 'x-match': 'any-with-x', 'x-a': 1 }, { 'x-a': 2 }, false],
    ['any-with-x alone matches nothing', { 'x-match': 'any-with-x' }, { 'x-match': 'any-with-x' }, false],
  ]
  for (const [name, args, data, expected] of cases) test(name, () => expect(matches(args, data)).toBe(expected))
})

describe('headers exchange', () => {
  test('route() yields a destination once when several of its bindings match', () => {
    const router = headers.create<string>()
    router.bind('q', '', { a: 1 })
    router.bind('q', '', { 'x-match': 'any', a: 1, b: 1 })
    router.bind('q2', '', { a: 2 })
    const out: string[] = []
    router.route('', { a: 1, b: 1 }, out)
    expect(out).toEqual(['q'])
  })

  test('the routing key is part of binding identity but not of routing', () => {
    const router = headers.create<string>()
    expect(router.bind('q', 'k1', { a: 1 })).toBe(true)
    expect(router.bind('q', 'k2', { a: 1 })).toBe(true)
    expect(router.unbind('q', 'k1', { a: 1 })).toBe(true)
    const out: string[] = []
    router.route('whatever', { a: 1 }, out)
    expect(out).toEqual(['q'])
  })

  test('validateBindingArgs() accepts the four x-match values and a missing one', () => {
    for (const value of ['all', 'any', 'all-with-x', 'any-with-x']) {
      expect(() => headers.validateBindingArgs!({ 'x-match': value, a: 1 })).not.toThrow()
    }
    expect(() => headers.validateBindingArgs!({ a: 1 })).not.toThrow()
  })

  function refusal(args: Table): BrokerError {
    try {
      headers.validateBindingArgs!(args)
    } catch (error) {
      if (error instanceof BrokerError) return error
      throw error
    }
    throw new Error('expected a BrokerError')
  }

  test('validateBindingArgs() refuses another x-match string with RabbitMQ text', () => {
    const error = refusal({ 'x-match': 'bogus' })
    expect(error.code).toBe('precondition-failed')
    expect(error.scope).toBe('session')
    expect(error.message).toBe('Invalid x-match field value <<"bogus">>; expected all, any, all-with-x, or any-with-x')
  })

  test('validateBindingArgs() refuses a non-string x-match with RabbitMQ text', () => {
    const typed = refusal({ 'x-match': { kind: 'typed-number', type: 'b', value: 1 } })
    expect(typed.code).toBe('precondition-failed')
    expect(typed.message).toBe('Invalid x-match field type byte (value 1); expected longstr')
    expect(refusal({ 'x-match': 1 }).message).toBe('Invalid x-match field type signedint (value 1); expected longstr')
    expect(refusal({ 'x-match': true }).message).toBe('Invalid x-match field type bool (value true); expected longstr')
    expect(refusal({ 'x-match': null }).message).toBe('Invalid x-match field type void (value undefined); expected longstr')
  })
})
