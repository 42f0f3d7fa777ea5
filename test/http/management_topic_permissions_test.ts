// /api/topic-permissions as rabbit_mgmt_wm_topic_permission(s)(_user,_vhost), their place in
// definitions export and import, and their effect on a real AMQP publisher.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { amqplibChannel, amqplibConnect, closeQuietly, uniq, within } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { type Api, addUser, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
})

afterAll(async () => {
  await broker?.stop()
})

const path = (vhost: string, user: string, exchange?: string) =>
  `/topic-permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}${exchange === undefined ? '' : `/${encodeURIComponent(exchange)}`}`

describe('/api/topic-permissions', () => {
  test('PUT creates (201), PUT again (204), GET shows RabbitMQ\'s shape in every list', async () => {
    const user = uniq('tpu')
    await addUser(api, user, [], ['/'])
    expect((await api('GET', path('/', user))).status).toBe(404)
    expect((await api('PUT', path('/', user), { exchange: 'amq.topic', write: '^a\\.', read: '.*' })).status).toBe(201)
    expect((await api('PUT', path('/', user), { exchange: 'amq.direct', write: '', read: '' })).status).toBe(204)
    expect((await api('PUT', path('/', user), { exchange: 'amq.topic', write: '^b\\.', read: '.*' })).status).toBe(204)
    const one = { user, vhost: '/', exchange: 'amq.topic', write: '^b\\.', read: '.*' }
    const two = { user, vhost: '/', exchange: 'amq.direct', write: '', read: '' }
    const mine = (list: { user: string }[]) => list.filter((p) => p.user === user)
    expect((await api('GET', path('/', user))).body).toEqual([two, one])
    expect((await api('GET', path('/', user, 'amq.topic'))).body).toEqual([one])
    expect(mine((await api('GET', '/topic-permissions')).body)).toEqual([two, one])
    expect((await api('GET', `/users/${user}/topic-permissions`)).body).toEqual([two, one])
    expect(mine((await api('GET', '/vhosts/%2F/topic-permissions')).body)).toEqual([two, one])
  })

  test('DELETE of one exchange, then of all; 404 when there is none', async () => {
    const user = uniq('tpd')
    await addUser(api, user, [], ['/'])
    await api('PUT', path('/', user), { exchange: 'amq.topic', write: '.*', read: '.*' })
    await api('PUT', path('/', user), { exchange: 'x1', write: '.*', read: '.*' })
    await api('PUT', path('/', user), { exchange: 'x2', write: '.*', read: '.*' })
    expect((await api('DELETE', path('/', user, 'x1'))).status).toBe(204)
    expect((await api('DELETE', path('/', user, 'x1'))).status).toBe(404)
    expect((await api('GET', path('/', user))).body.map((p: { exchange: string }) => p.exchange).sort()).toEqual(['amq.topic', 'x2'])
    expect((await api('DELETE', path('/', user))).status).toBe(204)
    expect((await api('GET', path('/', user))).status).toBe(404)
    expect((await api('DELETE', path('/', user))).status).toBe(404)
  })

  test('errors: missing user or vhost, bad regex, missing keys; lists of missing ones 404', async () => {
    const user = uniq('tpe')
    await addUser(api, user, [], ['/'])
    expect((await api('PUT', path('/', 'nobody'), { exchange: 'amq.topic', write: '.*', read: '.*' })).status).toBe(400)
    expect((await api('PUT', path('novhost', user), { exchange: 'amq.topic', write: '.*', read: '.*' })).status).toBe(400)
    expect((await api('PUT', path('/', user), { exchange: 'amq.topic', write: '(', read: '.*' })).status).toBe(400)
    expect((await api('PUT', path('/', user), { exchange: 'amq.topic', write: '.*' })).status).toBe(400)
    expect((await api('GET', '/users/nobody/topic-permissions')).status).toBe(404)
    expect((await api('GET', '/vhosts/novhost/topic-permissions')).status).toBe(404)
  })

  test('administrator only', async () => {
    const user = uniq('tpm')
    await addUser(api, user, ['management', 'monitoring'], ['/'])
    const as = apiFor(broker, user)
    expect((await as('GET', '/topic-permissions')).status).toBe(403)
    expect((await as('PUT', path('/', user), { exchange: 'amq.topic', write: '.*', read: '.*' })).status).toBe(403)
    expect((await as('DELETE', path('/', user))).status).toBe(403)
  })

  test('a PUT takes effect on AMQP publishes; deleting the user drops them', async () => {
    const user = uniq('tpa')
    await addUser(api, user, [], ['/'])
    await api('PUT', path('/', user), { exchange: 'amq.topic', write: '^{username}\\.', read: '.*' })
    const { conn } = await amqplibConnect(`amqp://${user}:${user}@127.0.0.1:${broker.amqpPort}`)
    try {
      const { ch, watch } = await amqplibChannel(conn)
      ch.publish('amq.topic', 'other.key', Buffer.from('x'))
      const error = await within(watch.closed, 5000, 'channel close')
      expect(error?.message).toContain(`write access to topic 'other.key' in exchange 'amq.topic' in vhost '/' refused for user '${user}'`)
    } finally {
      await closeQuietly(conn)
    }
    expect((await api('DELETE', `/users/${user}`)).status).toBe(204)
    expect((await api('GET', '/topic-permissions')).body.filter((p: { user: string }) => p.user === user)).toEqual([])
  })
})

describe('definitions', () => {
  test('topic_permissions are exported and imported', async () => {
    const user = uniq('tpx')
    await addUser(api, user, [], ['/'])
    await api('PUT', path('/', user), { exchange: 'amq.topic', write: '^w', read: '^r' })
    const exported = (await api('GET', '/definitions')).body
    expect(exported.topic_permissions).toContainEqual({ user, vhost: '/', exchange: 'amq.topic', write: '^w', read: '^r' })

    const other = uniq('tpi')
    const imported = await api('POST', '/definitions', {
      users: [{ name: other, password_hash: '', tags: [] }],
      permissions: [{ user: other, vhost: '/', configure: '.*', write: '.*', read: '.*' }],
      topic_permissions: [{ user: other, vhost: '/', exchange: 'amq.topic', write: '^in', read: '^out' }],
    })
    expect(imported.status).toBe(204)
    expect((await api('GET', path('/', other))).body).toEqual([{ user: other, vhost: '/', exchange: 'amq.topic', write: '^in', read: '^out' }])
    const bad = await api('POST', '/definitions', { topic_permissions: [{ user: other, vhost: '/', exchange: 'amq.topic', write: '(', read: '' }] })
    expect(bad.status).toBe(400)
  })
})
