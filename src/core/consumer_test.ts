import { describe, expect, test } from 'bun:test'
import { Consumer, type ConsumerSession, ConsumerList } from './consumer.ts'
import type { Queue } from './queue.ts'

function fakeSession(overrides: Partial<ConsumerSession> = {}): ConsumerSession {
  return {
    deliverable: true,
    globalPrefetch: 0,
    consumerUnacked: 0,
    deliverFromQueue: () => {},
    consumerCancelled: () => {},
    ...overrides,
  }
}

const queue = {} as Queue

function consumer(tag: string, opts: { priority?: number; prefetch?: number; session?: ConsumerSession } = {}): Consumer {
  return new Consumer(queue, opts.session ?? fakeSession(), {
    tag,
    noAck: false,
    prefetch: opts.prefetch ?? 0,
    priority: opts.priority ?? 0,
    exclusive: false,
  })
}

function picks(list: ConsumerList, n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const c = list.next()
    out.push(c?.tag ?? '-')
    if (c !== undefined) c.unacked++
  }
  return out
}

describe('ConsumerList.next', () => {
  test('round-robins and keeps the rotation sane when members leave', () => {
    const list = new ConsumerList(false)
    const [a, b, c] = [consumer('a'), consumer('b'), consumer('c')]
    for (const x of [a, b, c]) list.add(x)
    expect(picks(list, 4)).toEqual(['a', 'b', 'c', 'a'])
    list.remove(b)
    expect(picks(list, 3)).toEqual(['c', 'a', 'c'])
    list.remove(c)
    expect(picks(list, 2)).toEqual(['a', 'a'])
    list.remove(a)
    expect(list.next()).toBeUndefined()
  })

  test('higher priority groups win while they have credit', () => {
    const list = new ConsumerList(false)
    list.add(consumer('low'))
    list.add(consumer('high', { priority: 5, prefetch: 2 }))
    list.add(consumer('mid', { priority: 1, prefetch: 1 }))
    expect(picks(list, 5)).toEqual(['high', 'high', 'mid', 'low', 'low'])
  })

  test('credit gates: per-consumer prefetch, session prefetch, deliverable', () => {
    const shared = { deliverable: true, globalPrefetch: 2, consumerUnacked: 2 }
    const s = fakeSession(shared)
    const list = new ConsumerList(false)
    list.add(consumer('a', { session: s }))
    expect(list.next()).toBeUndefined()
    ;(s as { consumerUnacked: number }).consumerUnacked = 1
    expect(list.next()?.tag).toBe('a')
    ;(s as { deliverable: boolean }).deliverable = false
    expect(list.next()).toBeUndefined()
  })

  test('single-active-consumer only ever picks the first registered', () => {
    const list = new ConsumerList(true)
    const [a, b] = [consumer('a', { prefetch: 1 }), consumer('b')]
    list.add(a)
    list.add(b)
    expect(picks(list, 2)).toEqual(['a', '-'])
    expect(list.active).toBe(a)
    list.remove(a)
    expect(list.active).toBe(b)
    expect(picks(list, 1)).toEqual(['b'])
  })
})
