import { describe, expect, test } from 'bun:test'
import { BrokerError } from '../api.ts'
import { Access } from '../core/access.ts'
import { DefinitionsModel } from '../store/definitions_model.ts'
import { PermissionStore } from './permissions.ts'

const all = { configure: '.*', write: '.*', read: '.*' }
const topic = { name: 'amq.topic', type: 'topic' }
const direct = { name: 'amq.direct', type: 'direct' }

function refused(run: () => void): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError)
    expect((error as BrokerError).code).toBe('access-refused')
    return (error as Error).message
  }
  throw new Error('expected access-refused')
}

describe('TopicPermissionStore and Access.checkTopic', () => {
  test('no entry: anything goes; an entry: the key must match, with RabbitMQ\'s text', () => {
    const perms = new PermissionStore()
    perms.set('/', 'u', all)
    const access = new Access(perms, '/', 'u')
    access.checkTopic('write', topic, 'a.b')
    perms.topics.set('/', 'u', { exchange: 'amq.topic', write: '^a\\.', read: '' })
    access.checkTopic('write', topic, 'a.b')
    expect(refused(() => access.checkTopic('write', topic, 'b.a'))).toBe(
      "write access to topic 'b.a' in exchange 'amq.topic' in vhost '/' refused for user 'u'",
    )
    // "" is "^$".
    expect(refused(() => access.checkTopic('read', topic, 'a.b'))).toContain("read access to topic 'a.b'")
    // Only topic exchanges are checked.
    perms.topics.set('/', 'u', { exchange: 'amq.direct', write: '', read: '' })
    access.checkTopic('write', direct, 'x')
    expect(perms.topics.delete('/', 'u')).toBe(true)
    access.checkTopic('write', topic, 'b.a')
  })

  test('variables are expanded per connection; client_id only when given', () => {
    const perms = new PermissionStore()
    perms.topics.set('/', 'u', { exchange: 'amq.topic', write: '^{username}\\.{client_id}$', read: '^{vhost}' })
    const mqtt = new Access(perms, '/', 'u', 'c1')
    mqtt.checkTopic('write', topic, 'u.c1')
    refused(() => mqtt.checkTopic('write', topic, 'u.c2'))
    mqtt.checkTopic('read', topic, '/x')
    const amqp = new Access(perms, '/', 'u')
    refused(() => amqp.checkTopic('write', topic, 'u.c1'))
    // A value that makes the pattern invalid matches nothing.
    refused(() => new Access(perms, '/', 'u', '(').checkTopic('write', topic, 'u.('))
  })

  test('a bad regex is refused when set; users and vhosts take theirs along; onTopicChange reports', () => {
    const changes: string[] = []
    const perms = new PermissionStore({ onTopicChange: (v, u, x, p) => changes.push(`${v}/${u}/${x}:${p === undefined ? '-' : p.write}`) })
    expect(() => perms.topics.set('/', 'u', { exchange: 'x', write: '(', read: '' })).toThrow(BrokerError)
    expect(perms.topics.set('/', 'u', { exchange: 'x', write: 'w', read: '' })).toBe(true)
    expect(perms.topics.set('/', 'u', { exchange: 'x', write: 'w2', read: '' })).toBe(false)
    perms.topics.set('v', 'u', { exchange: 'y', write: 'w', read: '' })
    perms.deleteUser('u')
    expect([...perms.topics.list()]).toEqual([])
    expect(changes).toEqual(['//u/x:w', '//u/x:w2', 'v/u/y:w', '//u/x:-', 'v/u/y:-'])
    perms.topics.set('v', 'u', { exchange: 'y', write: 'w', read: '' })
    perms.deleteVhost('v')
    expect(perms.topics.get('v', 'u')).toEqual([])
  })
})

describe('DefinitionsModel topic permissions', () => {
  test('apply and snapshot round-trip; user and vhost deletes cascade', () => {
    const m = new DefinitionsModel()
    m.apply({ op: 'vhost', name: '/', metadata: { description: '', tags: [], defaultQueueType: 'classic' } })
    m.apply({ op: 'topic-permission', vhost: '/', user: 'u', exchange: 'a', write: 'w', read: 'r' })
    m.apply({ op: 'topic-permission', vhost: '/', user: 'u', exchange: 'b', write: 'w', read: 'r' })
    m.apply({ op: 'topic-permission-delete', vhost: '/', user: 'u', exchange: 'a' })
    const copy = new DefinitionsModel()
    for (const r of m.snapshot()) copy.apply(r)
    expect([...copy.vhosts.get('/')!.topicPermissions.get('u')!.values()]).toEqual([{ exchange: 'b', write: 'w', read: 'r' }])
    copy.apply({ op: 'user-delete', name: 'u' })
    expect(copy.vhosts.get('/')!.topicPermissions.size).toBe(0)
  })
})
