import { describe, expect, test } from 'bun:test'
import { ActivitySampler, addCounters, MessageCounters, MIN_SAMPLE_INTERVAL_MS, RateSampler } from './stats.ts'

describe('RateSampler', () => {
  test('is 0 until a second sample, then the change per second between the last two', () => {
    const s = new RateSampler(2)
    expect([...s.sample([10, 0], 1_000)]).toEqual([0, 0])
    expect([...s.sample([30, 5], 3_000)]).toEqual([10, 2.5])
  })

  test('samples closer than the minimum interval keep the previous rates', () => {
    const s = new RateSampler(1)
    s.sample([0], 10_000)
    expect(s.sample([100], 10_000 + MIN_SAMPLE_INTERVAL_MS)[0]).toBe(100)
    expect(s.sample([1_000], 10_000 + MIN_SAMPLE_INTERVAL_MS + 10)[0]).toBe(100)
  })

  test('a falling value (a queue draining) gives a negative rate', () => {
    const s = new RateSampler(1)
    s.sample([50], 0 + 1)
    expect(s.sample([0], 5_001)[0]).toBe(-10)
  })
})

describe('ActivitySampler', () => {
  test('rates every counter and the three lengths', () => {
    const counters = new MessageCounters()
    const s = new ActivitySampler()
    s.sample(counters, [0, 0, 0], 1)
    counters.publish = 20
    counters.ack = 4
    const { rates, lengthRates } = s.sample(counters, [16, 10, 6], 2_001)
    expect(rates).toMatchObject({ publish: 10, ack: 2, deliver: 0 })
    expect(lengthRates).toEqual([8, 5, 3])
  })
})

test('addCounters sums every counter', () => {
  const a = new MessageCounters()
  const b = new MessageCounters()
  a.publish = 1
  b.publish = 2
  b.redeliver = 3
  addCounters(a, b)
  expect(a.publish).toBe(3)
  expect(a.redeliver).toBe(3)
})
