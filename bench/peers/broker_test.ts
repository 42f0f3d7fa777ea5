import { expect, test } from 'bun:test'
import { cpuSeconds, machineBusySeconds, rssBytes, storageWriteBytes } from './broker.ts'

test('reads this process figures from /proc', () => {
  expect(rssBytes(process.pid)).toBeGreaterThan(1024 * 1024)
  expect(cpuSeconds(process.pid)).toBeGreaterThanOrEqual(0)
  expect(machineBusySeconds()).toBeGreaterThan(0)
  expect(storageWriteBytes(process.pid)).toBeGreaterThanOrEqual(0)
})

test('rssBytes names the pid it cannot read', () => {
  expect(() => rssBytes(2 ** 30)).toThrow(/1073741824/)
})
