import { expect, test } from 'bun:test'
import { readDigits } from './http/scanner.ts'
import { RECORDED, STAMP_BYTES, STAMP_DIGITS, elapsedMs, nowMicros, writeStamp } from './stamp.ts'
import { LatencyHistogram } from './stats.ts'

test('a stamp round-trips through its ASCII form, and the wrap does not matter', () => {
  const buf = new Uint8Array(STAMP_BYTES + 2)
  const now = nowMicros()
  writeStamp(buf, 1, RECORDED, now)
  expect(String.fromCharCode(buf[1]!)).toBe('T')
  expect(readDigits(buf, 2, STAMP_DIGITS)).toBe(now)
  expect(elapsedMs(now, now + 1500)).toBe(1.5)
  expect(elapsedMs(10 ** 15 - 500, 1000)).toBe(1.5)
})

test('LatencyHistogram merges exactly and answers upper bucket edges', () => {
  const a = new LatencyHistogram()
  const b = new LatencyHistogram()
  for (let i = 1; i <= 99; i++) a.record(i / 100 - 0.001)
  b.record(50)
  const all = new LatencyHistogram()
  all.merge(a.pairs())
  all.merge(b.pairs())
  expect(all.total).toBe(100)
  expect(all.percentile(50)).toBeCloseTo(0.5, 6)
  expect(all.percentile(99)).toBeCloseTo(0.99, 6)
  expect(all.percentile(100)).toBeCloseTo(50.01, 6)
  expect(new LatencyHistogram().percentile(99)).toBe(0)
})
