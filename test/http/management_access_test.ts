// Who may use the management API, as RabbitMQ decides it: 401 without credentials, 403 without
// a management tag, without administrator for admin endpoints, without access to the vhost or
// without the resource permission; normal users see only their own connections.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { amqplibConnect, closeQuietly, type Conn } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { addUser, type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let admin: Api
let guestConn: Conn

beforeAll(async () => {
  broker = await startBroker()
  admin = apiFor(broker)
  expect((await admin('PUT', '/vhosts/other', {})).status).toBe(201)
  await addUser(admin, 'plain', [], ['/'])
  await addUser(admin, 'mgmt', ['management'], ['/'])
  await addUser(admin, 'monitor', ['monitoring'], ['/'])
  await addUser(admin, 'limited', ['management'])
  await admin('PUT', '/permissions/%2F/limited', { configure: '^mine-', write: '.*', read: '.*' })
  await admin('PUT', '/queues/other/secret', {})
  guestConn = await amqplibConnect(broker.amqpUrl)
})

afterAll(async () => {
  await closeQuietly(guestConn?.conn)
  await broker?.stop()
})

describe('authentication and tags', () => {
  test('no or wrong credentials are 401 with a challenge', async () => {
    const none = await apiFor(broker, null)('GET', '/overview')
    expect(none).toMatchObject({ status: 401, body: { error: 'not_authorized', reason: 'Login failed' } })
    expect(none.headers.get('www-authenticate')).toContain('Basic')
    expect((await apiFor(broker, 'mgmt', 'wrong')('GET', '/queues')).status).toBe(401)
  })

  test('a user without a management tag is 403 Not management user, even for whoami', async () => {
    for (const path of ['/overview', '/whoami', '/queues']) {
      expect(await apiFor(broker, 'plain')('GET', path)).toMatchObject({
        status: 403,
        body: { error: 'not_authorised', reason: 'Not management user' },
      })
    }
  })

  test('administrator-only endpoints are 403 Not administrator user for others', async () => {
    const mgmt = apiFor(broker, 'mgmt')
    for (const [method, path, body] of [
      ['GET', '/users'],
      ['GET', '/users/guest'],
      ['PUT', '/users/x', { password: 'x' }],
      ['GET', '/permissions'],
      ['PUT', '/vhosts/new', {}],
      ['DELETE', '/vhosts/other'],
      ['GET', '/definitions'],
      ['POST', '/definitions', {}],
    ] as [string, string, unknown?][]) {
      expect(await mgmt(method, path, body)).toMatchObject({ status: 403, body: { error: 'not_authorised', reason: 'Not administrator user' } })
    }
    expect((await mgmt('GET', '/whoami')).body).toEqual({ name: 'mgmt', tags: ['management'] })
  })
})

describe('vhost access and permissions', () => {
  test('a vhost the user cannot use is 403 and hidden from lists', async () => {
    const mgmt = apiFor(broker, 'mgmt')
    expect(await mgmt('GET', '/queues/other')).toMatchObject({ status: 403, body: { reason: 'User not authorised to access virtual host' } })
    expect((await mgmt('PUT', '/queues/other/q', {})).status).toBe(403)
    expect((await mgmt('GET', '/queues')).body.some((q: { vhost: string }) => q.vhost === 'other')).toBe(false)
    expect((await mgmt('GET', '/vhosts')).body.map((v: { name: string }) => v.name)).toEqual(['/'])
    expect((await admin('GET', '/queues')).body.some((q: { vhost: string }) => q.vhost === 'other')).toBe(true)
  })

  test('monitors see every vhost', async () => {
    const names = (await apiFor(broker, 'monitor')('GET', '/vhosts')).body.map((v: { name: string }) => v.name)
    expect(names).toEqual(['/', 'other'])
  })

  test('resource permissions apply as over AMQP: configure refused is 403', async () => {
    const limited = apiFor(broker, 'limited')
    expect((await limited('PUT', '/queues/%2F/mine-1', {})).status).toBe(201)
    const refused = await limited('PUT', '/queues/%2F/theirs', {})
    expect(refused).toMatchObject({
      status: 403,
      body: { error: 'not_authorised', reason: "configure access to queue 'theirs' in vhost '/' refused for user 'limited'" },
    })
    expect((await limited('DELETE', '/queues/%2F/mine-1')).status).toBe(204)
  })
})

describe('connections of other users', () => {
  test('normal users see only theirs; monitors see all; only administrators close others\'', async () => {
    const mine = await amqplibConnect(`amqp://mgmt:mgmt@127.0.0.1:${broker.amqpPort}`)
    try {
      const mgmt = apiFor(broker, 'mgmt')
      const seen = (await mgmt('GET', '/connections')).body as { user: string; name: string }[]
      expect(seen.map((c) => c.user)).toEqual(['mgmt'])
      const all = (await apiFor(broker, 'monitor')('GET', '/connections')).body as { user: string; name: string }[]
      expect(all.map((c) => c.user).sort()).toEqual(['guest', 'mgmt'])
      const guests = all.find((c) => c.user === 'guest')!
      const path = `/connections/${encodeURIComponent(guests.name)}`
      expect(await mgmt('GET', path)).toMatchObject({ status: 403, body: { reason: 'User not authorised to access object' } })
      expect((await mgmt('DELETE', path)).status).toBe(403)
      expect((await apiFor(broker, 'monitor')('DELETE', path)).status).toBe(403)
      expect((await apiFor(broker, 'monitor')('GET', path)).status).toBe(200)
      expect((await mgmt('GET', '/channels')).body).toEqual([])
      const own = seen[0]!
      expect((await mgmt('DELETE', `/connections/${encodeURIComponent(own.name)}`)).status).toBe(204)
      await mine.watch.closed
    } finally {
      await closeQuietly(mine.conn)
    }
  })
})
