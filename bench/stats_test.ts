import { expect, test } from 'bun:test'
import { formatNumber, median, medianOf, percentile } from './stats.ts'

test('percentile uses the nearest rank', () => {
  const s = Float64Array.from({ length: 100 }, (_, i) => i + 1)
  expect(percentile(s, 50)).toBe(50)
  expect(percentile(s, 99)).toBe(99)
  expect(percentile(s, 99.9)).toBe(100)
  expect(percentile(s, 0)).toBe(1)
  expect(percentile([], 50)).toBe(0)
})

test('median of odd and even samples', () => {
  expect(median([3, 1, 2])).toBe(2)
  expect(median([4, 1, 3, 2])).toBe(2.5)
  expect(median([])).toBeNaN()
})

test('medianOf combines runs key by key', () => {
  expect(medianOf([{ a: 1, b: 10 }, { a: 3 }, { a: 2, b: 20 }])).toEqual({ a: 2, b: 15 })
})

test('formatNumber', () => {
  expect(formatNumber(123456.7)).toBe('123,457')
  expect(formatNumber(12.345)).toBe('12.3')
  expect(formatNumber(0.1234)).toBe('0.12')
})
