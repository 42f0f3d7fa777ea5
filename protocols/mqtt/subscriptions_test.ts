import { describe, expect, test } from 'bun:test'
import type { Binding, Session } from '../../src/api.ts'
import { SessionRegistry } from './session_registry.ts'
import { makeSubscription, Subscriptions } from './subscriptions.ts'
import { topicMapper } from './topic.ts'

const topics = topicMapper(false)

/** A core session that records what the subscriptions ask of it. */
function stubSession() {
  const calls: string[] = []
  const session = {
    declareQueue: (name: string, opts?: { durable?: boolean; exclusive?: boolean }) => {
      calls.push(`declare ${name} ${opts?.durable ? 'durable' : opts?.exclusive ? 'exclusive' : 'plain'}`)
      return { name, messages: 0, consumers: 0 }
    },
    bind: (b: Binding) => void calls.push(`bind ${b.destination} ${b.routingKey}`),
    unbind: (b: Binding) => void calls.push(`unbind ${b.destination} ${b.routingKey}`),
    consume: (queue: string, opts: { tag?: string; noAck: boolean }) => {
      calls.push(`consume ${queue} ${opts.noAck ? 'noack' : 'ack'}`)
      return opts.tag ?? 'generated'
    },
    cancel: (tag: string) => {
      calls.push(`cancel ${tag}`)
      return true
    },
    deleteQueue: (name: string) => {
      calls.push(`delete ${name}`)
      return 0
    },
  }
  return { session: session as unknown as Session, calls }
}

function subscriptions(persistent = false, clientId = 'c1', registry = new SessionRegistry()) {
  const { session, calls } = stubSession()
  const subs = new Subscriptions({
    coreSession: session,
    clientId,
    persistent,
    expiryMs: 60_000,
    exchange: 'amq.topic',
    queueLimit: 100,
    topics,
    key: `/\u0000${clientId}`,
    registry,
    sharedExpiryMs: 86_400_000,
  })
  return { subs, calls }
}

function sub(filter: string, qos: 0 | 1 | 2, extra: { noLocal?: boolean; id?: number } = {}) {
  return makeSubscription({ filter, qos, noLocal: extra.noLocal ?? false, retainAsPublished: false, retainHandling: 0, id: extra.id }, topics)
}

const filters = (list: { filter: string }[]) => list.map((s) => s.filter).sort()

describe('Subscriptions', () => {
  test('QoS 0 and QoS 1/2 filters bind the two session queues, created on first use', () => {
    const { subs, calls } = subscriptions()
    subs.add(sub('a/+', 0))
    subs.add(sub('b/#', 2))
    expect(calls).toEqual([
      'declare mqtt-subscription-c1qos0 exclusive',
      'consume mqtt-subscription-c1qos0 noack',
      'bind mqtt-subscription-c1qos0 a.*',
      'declare mqtt-subscription-c1qos1 exclusive',
      'consume mqtt-subscription-c1qos1 ack',
      'bind mqtt-subscription-c1qos1 b.#',
    ])
    expect(subs.consumer('qos0')).toEqual({ queue: 0, noAck: true, sub: undefined })
    expect(subs.consumer('qos1')?.queue).toBe(1)
  })

  test('a persistent session declares durable queues', () => {
    const { subs, calls } = subscriptions(true)
    subs.add(sub('x', 1))
    expect(calls[0]).toBe('declare mqtt-subscription-c1qos1 durable')
  })

  test('matching with one filter and with several, "$" rule included', () => {
    const { subs } = subscriptions()
    subs.add(sub('#', 1))
    expect(filters(subs.match('a.b'))).toEqual(['#'])
    expect(subs.match('$SYS.x')).toEqual([])
    subs.add(sub('a/+', 0))
    subs.add(sub('$SYS/#', 1))
    expect(filters(subs.match('a.b'))).toEqual(['#', 'a/+'])
    expect(filters(subs.match('$SYS.x'))).toEqual(['$SYS/#'])
    subs.remove('#')
    subs.remove('a/+')
    expect(filters(subs.match('$SYS.x'))).toEqual(['$SYS/#'])
  })

  test('replacing a filter with another QoS class moves its binding', () => {
    const { subs, calls } = subscriptions()
    subs.add(sub('t', 0))
    calls.length = 0
    subs.add(sub('t', 1))
    expect(calls).toContain('bind mqtt-subscription-c1qos1 t')
    expect(calls).toContain('unbind mqtt-subscription-c1qos0 t')
    expect(subs.get('t')?.qos).toBe(1)
    expect(filters(subs.match('t'))).toEqual(['t'])
  })

  test('remove unbinds unless another filter of the class has the same pattern', () => {
    const { subs, calls } = subscriptions()
    expect(subs.remove('nope')).toBe(false)
    subs.add(sub('a/b', 1))
    subs.add(sub('a.b', 1)) // the dot caveat: same pattern
    calls.length = 0
    expect(subs.remove('a/b')).toBe(true)
    expect(calls).toEqual([])
    subs.remove('a.b')
    expect(calls).toEqual(['unbind mqtt-subscription-c1qos1 a.b'])
  })

  test('a shared subscription has its own queue and consumer, not in the session trie', () => {
    const { subs, calls } = subscriptions()
    subs.add(sub('$share/g/s/+', 1))
    expect(calls).toEqual(['declare mqtt-shared-g/s/+ plain', 'bind mqtt-shared-g/s/+ s.*', 'consume mqtt-shared-g/s/+ ack'])
    expect(subs.match('s.x')).toEqual([])
    const record = subs.consumer('share1')
    expect(record?.sub?.group).toBe('g')
    calls.length = 0
    subs.remove('$share/g/s/+')
    // Its last member left: the group's queue goes.
    expect(calls).toEqual(['cancel share1', 'delete mqtt-shared-g/s/+'])
  })

  test("a shared group's queue is durable for a persistent member and goes with the last member", () => {
    const registry = new SessionRegistry()
    const a = subscriptions(true, 'a', registry)
    const b = subscriptions(false, 'b', registry)
    a.subs.add(sub('$share/g/t', 1))
    b.subs.add(sub('$share/g/t', 1))
    expect(a.calls[0]).toBe('declare mqtt-shared-g/t durable')
    a.subs.remove('$share/g/t')
    expect(a.calls).not.toContain('delete mqtt-shared-g/t')
    // A session that ends leaves its groups; the caller deletes the emptied queues.
    expect(b.subs.leaveSharedGroups()).toEqual(['mqtt-shared-g/t'])
  })

  test('records list what a persistent session remembers', () => {
    const { subs } = subscriptions()
    subs.add(sub('a', 2, { noLocal: true, id: 7 }))
    expect(subs.records()).toEqual([{ filter: 'a', qos: 2, noLocal: true, retainAsPublished: false, retainHandling: 0, id: 7 }])
  })
})
