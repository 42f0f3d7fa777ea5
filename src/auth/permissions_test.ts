import { describe, expect, test } from 'bun:test'
import { BrokerError } from '../api.ts'
import { PermissionStore } from './permissions.ts'

const all = { configure: '.*', write: '.*', read: '.*' }

describe('PermissionStore', () => {
  test('check() is false without an entry for the vhost and user', () => {
    const store = new PermissionStore()
    store.set('/', 'alice', all)
    expect(store.check('/', 'bob', 'read', 'q')).toBe(false)
    expect(store.check('other', 'alice', 'read', 'q')).toBe(false)
    expect(store.canAccessVhost('/', 'alice')).toBe(true)
    expect(store.canAccessVhost('/', 'bob')).toBe(false)
  })

  const cases: [regex: string, name: string, allowed: boolean][] = [
    ['.*', 'anything', true],
    ['.*', 'amq.gen-abc', true],
    // Unanchored search, as RabbitMQ's re:run.
    ['foo', 'foo', true],
    ['foo', 'xfoox', true],
    ['^foo', 'xfoo', false],
    ['^foo$', 'foo.bar', false],
    ['^(foo|bar)\\.', 'bar.q', true],
    ['^amq\\.gen-.*', 'amq.gen-1', true],
    ['^amq\\.gen-.*', 'amq_gen-1', false],
    // "" means "^$": nothing except an empty name.
    ['', 'q', false],
    ['', 'amq.default', false],
    // The default exchange is checked as "amq.default".
    ['^amq\\.default$', '', true],
    ['^$', '', false],
  ]
  for (const [regex, name, allowed] of cases) {
    test(`check() with /${regex}/ ${allowed ? 'allows' : 'refuses'} "${name}"`, () => {
      const store = new PermissionStore()
      store.set('/', 'u', { configure: regex, write: regex, read: regex })
      for (const op of ['configure', 'write', 'read'] as const) expect(store.check('/', 'u', op, name)).toBe(allowed)
    })
  }

  test('check() uses the regex of the asked operation', () => {
    const store = new PermissionStore()
    store.set('/', 'u', { configure: '^c$', write: '^w$', read: '^r$' })
    expect(store.check('/', 'u', 'configure', 'c')).toBe(true)
    expect(store.check('/', 'u', 'configure', 'w')).toBe(false)
    expect(store.check('/', 'u', 'write', 'w')).toBe(true)
    expect(store.check('/', 'u', 'read', 'r')).toBe(true)
    expect(store.check('/', 'u', 'read', 'c')).toBe(false)
  })

  test('an entry with all-empty permissions still grants vhost access', () => {
    const store = new PermissionStore()
    store.set('/', 'u', { configure: '', write: '', read: '' })
    expect(store.canAccessVhost('/', 'u')).toBe(true)
    expect(store.check('/', 'u', 'read', 'q')).toBe(false)
  })

  test('set() replaces and get() returns a copy', () => {
    const store = new PermissionStore()
    store.set('/', 'u', all)
    store.set('/', 'u', { configure: '^x$', write: '.*', read: '.*' })
    const p = store.get('/', 'u')!
    expect(p).toEqual({ configure: '^x$', write: '.*', read: '.*' })
    p.configure = '.*'
    expect(store.check('/', 'u', 'configure', 'y')).toBe(false)
    expect(store.get('/', 'nobody')).toBeUndefined()
  })

  test('set() refuses an invalid regex and keeps the old entry', () => {
    const store = new PermissionStore()
    store.set('/', 'u', all)
    expect(() => store.set('/', 'u', { configure: '(', write: '.*', read: '.*' })).toThrow(BrokerError)
    expect(store.get('/', 'u')).toEqual(all)
  })

  test('delete(), deleteVhost() and deleteUser() remove entries', () => {
    const store = new PermissionStore()
    store.set('/', 'a', all)
    store.set('/', 'b', all)
    store.set('v', 'a', all)
    expect(store.delete('/', 'b')).toBe(true)
    expect(store.delete('/', 'b')).toBe(false)
    store.deleteUser('a')
    expect([...store.list()]).toEqual([])
    store.set('v', 'c', all)
    store.deleteVhost('v')
    expect(store.canAccessVhost('v', 'c')).toBe(false)
  })

  test('list() yields every entry', () => {
    const store = new PermissionStore()
    store.set('/', 'a', all)
    store.set('v', 'b', { configure: '', write: 'w', read: 'r' })
    expect([...store.list()]).toEqual([
      { vhost: '/', user: 'a', ...all },
      { vhost: 'v', user: 'b', configure: '', write: 'w', read: 'r' },
    ])
  })
})
