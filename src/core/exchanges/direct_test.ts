import { describe, expect, test } from 'bun:test'
import { runExchangeContract } from '../exchange_contract.ts'
import { getExchangeType } from '../exchange_type.ts'

const direct = getExchangeType('direct')!
runExchangeContract(direct)

describe('direct exchange', () => {
  function routed(router: ReturnType<typeof direct.create<string>>, key: string): string[] {
    const out: string[] = []
    router.route(key, undefined, out)
    return out.sort()
  }

  test('route() matches the routing key exactly', () => {
    const router = direct.create<string>()
    router.bind('q1', 'a.b', undefined)
    router.bind('q2', 'a.*', undefined)
    router.bind('q3', '', undefined)
    expect(routed(router, 'a.b')).toEqual(['q1'])
    expect(routed(router, 'a.c')).toEqual([])
    expect(routed(router, 'a.*')).toEqual(['q2']) // no wildcards in direct
    expect(routed(router, '')).toEqual(['q3'])
    expect(routed(router, 'A.B')).toEqual([]) // case-sensitive
  })

  test('route() ignores headers', () => {
    const router = direct.create<string>()
    router.bind('q', 'k', { 'x-match': 'any', a: 1 })
    const out: string[] = []
    router.route('k', { a: 2 }, out)
    expect(out).toEqual(['q'])
  })

  test('has no binding validation', () => {
    expect(direct.validateBindingArgs).toBeUndefined()
  })
})
