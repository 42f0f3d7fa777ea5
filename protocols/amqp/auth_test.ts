import { describe, expect, test } from 'bun:test'
import { parseSaslResponse } from './auth.ts'

const bytes = (s: string) => new TextEncoder().encode(s)

/** AMQPLAIN: a field table without its length prefix, two longstr fields. */
function amqplain(fields: Record<string, string>): Uint8Array {
  const parts: number[] = []
  for (const [key, value] of Object.entries(fields)) {
    const k = bytes(key)
    const v = bytes(value)
    parts.push(k.length, ...k, 0x53, 0, 0, 0, v.length, ...v)
  }
  return new Uint8Array(parts)
}

describe('parseSaslResponse', () => {
  test('PLAIN "\\0user\\0pass"', () => {
    expect(parseSaslResponse('PLAIN', bytes('\0guest\0secret'))).toEqual({ username: 'guest', password: 'secret' })
  })

  test('PLAIN with an authzid and an empty password', () => {
    expect(parseSaslResponse('PLAIN', bytes('admin\0guest\0'))).toEqual({ username: 'guest', password: '' })
  })

  test('PLAIN without separators is a syntax error text', () => {
    expect(parseSaslResponse('PLAIN', bytes('guest'))).toBe('PLAIN response invalid')
  })

  test('AMQPLAIN LOGIN / PASSWORD table', () => {
    expect(parseSaslResponse('AMQPLAIN', amqplain({ LOGIN: 'guest', PASSWORD: 'pw' }))).toEqual({
      username: 'guest',
      password: 'pw',
    })
  })

  test('AMQPLAIN without PASSWORD', () => {
    expect(parseSaslResponse('AMQPLAIN', amqplain({ LOGIN: 'guest' }))).toContain('missing LOGIN or PASSWORD')
  })

  test('unknown mechanism', () => {
    expect(parseSaslResponse('EXTERNAL', bytes(''))).toBeUndefined()
  })
})
