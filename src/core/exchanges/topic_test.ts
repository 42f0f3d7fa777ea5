import { describe, expect, test } from 'bun:test'
import type { Table } from '../../api.ts'
import { runExchangeContract } from '../exchange_contract.ts'
import { getExchangeType } from '../exchange_type.ts'

const topic = getExchangeType('topic')!
runExchangeContract(topic)

// Ported from RabbitMQ's topic exchange unit test (test_topic_matching in unit_SUITE /
// rabbit_exchange_type_topic): bindings t1..t27 and the queues each routing key must reach.
const BINDINGS: [string, string, Table | undefined][] = [
  ['a.b.c', 't1', undefined],
  ['a.*.c', 't2', undefined],
  ['a.#.b', 't3', undefined],
  ['a.b.b.c', 't4', undefined],
  ['#', 't5', undefined],
  ['#.#', 't6', undefined],
  ['#.b', 't7', undefined],
  ['*.*', 't8', undefined],
  ['a.*', 't9', undefined],
  ['*.b.c', 't10', undefined],
  ['a.#', 't11', undefined],
  ['a.#.#', 't12', undefined],
  ['b.b.c', 't13', undefined],
  ['a.b.b', 't14', undefined],
  ['a.b', 't15', undefined],
  ['b.c', 't16', undefined],
  ['', 't17', undefined],
  ['*.*.*', 't18', undefined],
  ['vodka.martini', 't19', undefined],
  ['a.b.c', 't20', undefined],
  ['*.#', 't21', undefined],
  ['#.*.#', 't22', undefined],
  ['*.#.#', 't23', undefined],
  ['#.#.#', 't24', undefined],
  ['*', 't25', undefined],
  ['#.b.#', 't26', undefined],
  ['args-test', 't27', { foo: 'bar' }],
  ['args-test', 't27', { foo: 'baz' }], // note aliasing: same key and queue, other args
]

const EXPECTED: [string, string[]][] = [
  ['a.b.c', ['t1', 't2', 't5', 't6', 't10', 't11', 't12', 't18', 't20', 't21', 't22', 't23', 't24', 't26']],
  ['a.b', ['t3', 't5', 't6', 't7', 't8', 't9', 't11', 't12', 't15', 't21', 't22', 't23', 't24', 't26']],
  ['a.b.b', ['t3', 't5', 't6', 't7', 't11', 't12', 't14', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['', ['t5', 't6', 't17', 't24']],
  ['b.c.c', ['t5', 't6', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['a.a.a.a.a', ['t5', 't6', 't11', 't12', 't21', 't22', 't23', 't24']],
  ['vodka.gin', ['t5', 't6', 't8', 't21', 't22', 't23', 't24']],
  ['vodka.martini', ['t5', 't6', 't8', 't19', 't21', 't22', 't23', 't24']],
  ['b.b.c', ['t5', 't6', 't10', 't13', 't18', 't21', 't22', 't23', 't24', 't26']],
  ['nothing.here.at.all', ['t5', 't6', 't21', 't22', 't23', 't24']],
  ['oneword', ['t5', 't6', 't21', 't22', 't23', 't24', 't25']],
  ['args-test', ['t5', 't6', 't21', 't22', 't23', 't24', 't25', 't27']],
]

// After removing bindings 1, 5, 11, 19, 21 and 28 (1-based, as the Erlang test does).
const REMOVED = [1, 5, 11, 19, 21, 28]
const EXPECTED_AFTER_REMOVAL: [string, string[]][] = [
  ['a.b.c', ['t2', 't6', 't10', 't12', 't18', 't20', 't22', 't23', 't24', 't26']],
  ['a.b', ['t3', 't6', 't7', 't8', 't9', 't12', 't15', 't22', 't23', 't24', 't26']],
  ['a.b.b', ['t3', 't6', 't7', 't12', 't14', 't18', 't22', 't23', 't24', 't26']],
  ['', ['t6', 't17', 't24']],
  ['b.c.c', ['t6', 't18', 't22', 't23', 't24', 't26']],
  ['a.a.a.a.a', ['t6', 't12', 't22', 't23', 't24']],
  ['vodka.gin', ['t6', 't8', 't22', 't23', 't24']],
  ['vodka.martini', ['t6', 't8', 't22', 't23', 't24']],
  ['b.b.c', ['t6', 't10', 't13', 't18', 't22', 't23', 't24', 't26']],
  ['nothing.here.at.all', ['t6', 't22', 't23', 't24']],
  ['oneword', ['t6', 't22', 't23', 't24', 't25']],
  ['args-test', ['t6', 't22', 't23', 't24', 't25', 't27']],
]

function routed(router: ReturnType<typeof topic.create<string>>, key: string): string[] {
  const out: string[] = []
  router.route(key, undefined, out)
  return out.sort()
}

const sorted = (list: string[]) => [...list].sort()

describe('topic exchange: RabbitMQ topic matching table', () => {
  const router = topic.create<string>()
  for (const [key, queue, args] of BINDINGS) router.bind(queue, key, args)

  test('binds all 28 bindings', () => {
    expect(router.size).toBe(28)
  })

  for (const [key, queues] of EXPECTED) {
    test(`route() for "${key}" reaches exactly ${queues.length} queues`, () => {
      expect(routed(router, key)).toEqual(sorted(queues))
    })
  }

  test('route() after removing six bindings', () => {
    const fresh = topic.create<string>()
    for (const [key, queue, args] of BINDINGS) fresh.bind(queue, key, args)
    for (const n of REMOVED) {
      const [key, queue, args] = BINDINGS[n - 1]!
      expect(fresh.unbind(queue, key, args)).toBe(true)
    }
    expect(fresh.size).toBe(22)
    for (const [key, queues] of EXPECTED_AFTER_REMOVAL) expect([key, routed(fresh, key)]).toEqual([key, sorted(queues)])
    // Removing the rest leaves nothing routable.
    for (const { destination, routingKey, args } of [...fresh.bindings()]) fresh.unbind(destination, routingKey, args)
    for (const key of ['a.b.c', 'b.b.c', '']) expect(routed(fresh, key)).toEqual([])
  })
})

describe('topic exchange', () => {
  test('route() reaches a queue once when several of its patterns match', () => {
    const router = topic.create<string>()
    router.bind('q', 'a.*', undefined)
    router.bind('q', 'a.#', undefined)
    router.bind('q', '#', undefined)
    expect(routed(router, 'a.b')).toEqual(['q'])
  })

  test('removeDestination() removes the patterns from the trie', () => {
    const router = topic.create<string>()
    router.bind('q', 'a.*', undefined)
    router.bind('q', 'a.*', { 'x-a': 1 })
    router.bind('q2', 'a.*', undefined)
    expect(router.removeDestination('q')).toBe(2)
    expect(routed(router, 'a.b')).toEqual(['q2'])
  })

  test('unbind() of one args variant keeps the pattern routing', () => {
    const router = topic.create<string>()
    router.bind('q', 'a.*', { v: 1 })
    router.bind('q', 'a.*', { v: 2 })
    router.unbind('q', 'a.*', { v: 1 })
    expect(routed(router, 'a.b')).toEqual(['q'])
    router.unbind('q', 'a.*', { v: 2 })
    expect(routed(router, 'a.b')).toEqual([])
  })
})
