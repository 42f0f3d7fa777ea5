import { describe, expect, test } from 'bun:test'
import { runExchangeContract } from '../exchange_contract.ts'
import { getExchangeType } from '../exchange_type.ts'

const fanout = getExchangeType('fanout')!
runExchangeContract(fanout)

describe('fanout exchange', () => {
  test('route() delivers to every destination whatever the key, once each', () => {
    const router = fanout.create<string>()
    router.bind('q1', 'x', undefined)
    router.bind('q1', 'y', undefined)
    router.bind('q2', '', undefined)
    const out: string[] = []
    router.route('anything', undefined, out)
    expect(out.sort()).toEqual(['q1', 'q2'])
  })

  test('route() keeps routing after one of two keys of a destination is unbound', () => {
    const router = fanout.create<string>()
    router.bind('q1', 'x', undefined)
    router.bind('q1', 'y', undefined)
    router.unbind('q1', 'x', undefined)
    const out: string[] = []
    router.route('z', undefined, out)
    expect(out).toEqual(['q1'])
  })
})
