import { describe, expect, test } from 'bun:test'
import { parseBasic, TokenStore } from './auth.ts'

const alice = { name: 'alice', tags: ['management'] }

describe('TokenStore', () => {
  test('a token verifies to its user until its TTL passes without use', () => {
    let now = 1_000_000
    const tokens = new TokenStore({ ttlSeconds: 60, now: () => now })
    const { token, expiresIn } = tokens.issue(alice)
    expect(expiresIn).toBe(60)
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(tokens.verify(token)).toEqual(alice)
    now += 59_000
    expect(tokens.verify(token)).toEqual(alice) // sliding: used, so good for another 60 s
    now += 59_000
    expect(tokens.verify(token)).toEqual(alice)
    now += 60_000
    expect(tokens.verify(token)).toBeUndefined()
    expect(tokens.size).toBe(0)
  })

  test('tokens are unique; unknown and revoked ones do not verify', () => {
    const tokens = new TokenStore({ ttlSeconds: 60 })
    const a = tokens.issue(alice).token
    const b = tokens.issue(alice).token
    expect(a).not.toBe(b)
    expect(tokens.verify('nope')).toBeUndefined()
    tokens.revoke(a)
    expect(tokens.verify(a)).toBeUndefined()
    expect(tokens.verify(b)).toEqual(alice)
  })

  test('issuing sweeps expired tokens and never holds more than 10,000', () => {
    let now = 0
    const tokens = new TokenStore({ ttlSeconds: 1, now: () => now })
    const first = tokens.issue(alice).token
    for (let i = 1; i < 10_000; i++) tokens.issue(alice)
    expect(tokens.size).toBe(10_000)
    tokens.issue(alice)
    expect(tokens.size).toBe(10_000)
    expect(tokens.verify(first)).toBeUndefined() // the oldest went first
    now = 5_000
    tokens.issue(alice)
    expect(tokens.size).toBeLessThan(10_000)
  })
})

describe('parseBasic', () => {
  const header = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`
  test('splits at the first colon; the password may hold colons and UTF-8', () => {
    expect(parseBasic(header('guest:guest'))).toEqual({ username: 'guest', password: 'guest' })
    expect(parseBasic(header('zoë:a:b'))).toEqual({ username: 'zoë', password: 'a:b' })
  })
  test('malformed credentials are undefined', () => {
    expect(parseBasic('Basic !!!')).toBeUndefined()
    expect(parseBasic(header('no-colon'))).toBeUndefined()
  })
})
