import { describe, expect, test } from 'bun:test'
import { tmpdir } from 'node:os'
import { freeSpace } from '../../src/runtime/fs.ts'

describe('freeSpace', () => {
  test('a real statfs reading of the temp directory is a positive number of bytes', async () => {
    const free = await freeSpace(tmpdir())
    expect(Number.isFinite(free)).toBe(true)
    expect(free).toBeGreaterThan(0)
  })
})
