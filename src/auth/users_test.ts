import { describe, expect, test } from 'bun:test'
import { BrokerError } from '../api.ts'
import { checkPassword, hashPassword, UserStore, type UserRecord } from './users.ts'

const record = (passwordHash: string): UserRecord => ({
  name: 'u',
  passwordHash,
  hashingAlgorithm: 'rabbit_password_hashing_sha256',
  tags: [],
})

describe('password hashing', () => {
  test('checkPassword() accepts a guest hash exported by RabbitMQ', () => {
    // From a RabbitMQ 3.13 definitions export: user guest, password guest.
    const guest = record('BMfxN8drrYcIqXZMr+pWTpDT0nMcOagMduLX0bjr4jwud/pN')
    expect(checkPassword(guest, 'guest')).toBe(true)
    expect(checkPassword(guest, 'Guest')).toBe(false)
    expect(checkPassword(guest, '')).toBe(false)
  })

  test('hashPassword() reproduces the worked example of the RabbitMQ passwords guide', () => {
    // Salt 908DC60A, password "test12" (rabbitmq.com/docs/passwords#computing-password-hash).
    const salt = new Uint8Array([0x90, 0x8d, 0xc6, 0x0a])
    expect(hashPassword('test12', salt)).toBe('kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR')
  })

  test('hashPassword() salts randomly and round-trips through checkPassword()', () => {
    const a = hashPassword('s3cret ünïcode')
    const b = hashPassword('s3cret ünïcode')
    expect(a).not.toBe(b)
    expect(Buffer.from(a, 'base64').length).toBe(36)
    expect(checkPassword(record(a), 's3cret ünïcode')).toBe(true)
    expect(checkPassword(record(b), 's3cret unicode')).toBe(false)
  })

  test('hashPassword() refuses a salt of the wrong size', () => {
    expect(() => hashPassword('x', new Uint8Array(3))).toThrow(RangeError)
  })

  test('checkPassword() refuses malformed and empty hashes', () => {
    expect(checkPassword(record(''), '')).toBe(false)
    expect(checkPassword(record('not base64 at all!'), 'x')).toBe(false)
    expect(checkPassword(record(Buffer.alloc(20).toString('base64')), 'x')).toBe(false)
  })
})

describe('UserStore', () => {
  test('add() creates a user whose password checks', () => {
    const store = new UserStore()
    const user = store.add('alice', 'pw', ['administrator'])
    expect(user).toMatchObject({ name: 'alice', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] })
    expect(store.get('alice')).toBe(user)
    expect(checkPassword(user, 'pw')).toBe(true)
    expect(store.add('bob', 'x').tags).toEqual([])
    expect(store.list().map((u) => u.name).sort()).toEqual(['alice', 'bob'])
    expect(store.size).toBe(2)
  })

  test('add() refuses an existing name', () => {
    const store = new UserStore()
    store.add('alice', 'pw')
    expect(() => store.add('alice', 'other')).toThrow(BrokerError)
    expect(checkPassword(store.get('alice')!, 'pw')).toBe(true)
  })

  test('put() imports a RabbitMQ record as it is', () => {
    const store = new UserStore()
    store.put({ ...record('BMfxN8drrYcIqXZMr+pWTpDT0nMcOagMduLX0bjr4jwud/pN'), name: 'guest', tags: ['administrator'] })
    expect(checkPassword(store.get('guest')!, 'guest')).toBe(true)
  })

  test('setPasswordHash(), setPassword() and setTags() change an existing user only', () => {
    const store = new UserStore()
    store.add('alice', 'old')
    expect(store.setPassword('alice', 'new')).toBe(true)
    expect(checkPassword(store.get('alice')!, 'new')).toBe(true)
    expect(checkPassword(store.get('alice')!, 'old')).toBe(false)
    expect(store.setPasswordHash('alice', '')).toBe(true)
    expect(checkPassword(store.get('alice')!, 'new')).toBe(false)
    expect(store.setTags('alice', ['monitoring'])).toBe(true)
    expect(store.get('alice')!.tags).toEqual(['monitoring'])
    expect(store.setPasswordHash('nobody', 'x')).toBe(false)
    expect(store.setTags('nobody', [])).toBe(false)
  })

  test('delete() removes a user once', () => {
    const store = new UserStore()
    store.add('alice', 'pw')
    expect(store.delete('alice')).toBe(true)
    expect(store.delete('alice')).toBe(false)
    expect(store.get('alice')).toBeUndefined()
  })

  test('onChange hears every change', () => {
    const changes: [string, string[] | undefined][] = []
    const store = new UserStore({ onChange: (name, user) => changes.push([name, user?.tags]) })
    store.add('a', 'pw', ['t'])
    store.setTags('a', ['u'])
    store.delete('a')
    store.delete('a')
    expect(changes).toEqual([['a', ['t']], ['a', ['u']], ['a', undefined]])
  })
})
