// HTTP authentication with real fetch: basic auth, and login tokens as cookie, query parameter
// or bearer header (what a page uses for EventSource, which cannot set headers); 403 for a
// missing tag.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHttpApp } from '../../protocols/http/app.ts'
import { requireTag, requireUser } from '../../protocols/http/auth.ts'
import { serveHttp, type HttpListener } from '../../src/runtime/http.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

const basic = (user: string, password: string) => ({ Authorization: `Basic ${btoa(`${user}:${password}`)}` })

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
  broker.server.broker.users.add('bob', 'bobpw', [])
})

afterAll(async () => {
  await broker?.stop()
})

async function login(body: string | URLSearchParams, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${broker.httpUrl}/api/login`, { method: 'POST', body, headers })
}

/** Status and the fields tests compare (GET /api/whoami may carry more, as RabbitMQ's does). */
async function whoami(init: RequestInit = {}, query = ''): Promise<[number, unknown]> {
  const response = await fetch(`${broker.httpUrl}/api/whoami${query}`, init)
  const body = (await response.json()) as Record<string, unknown>
  if (response.status !== 200) return [response.status, body]
  return [response.status, { name: body.name, tags: body.tags }]
}

/** The token from a successful login answer, checked against its cookie. */
async function tokenOf(response: Response): Promise<string> {
  expect(response.status).toBe(200)
  const body = (await response.json()) as { name: string; token: string; expires_in: number }
  expect(body.expires_in).toBe(3600)
  const cookie = response.headers.get('set-cookie') ?? ''
  expect(cookie).toContain(`warren_token=${body.token}`)
  expect(cookie).toContain('HttpOnly')
  expect(cookie).toContain('SameSite=Strict')
  return body.token
}

describe('POST /api/login', () => {
  test('JSON credentials give a token that works as cookie, ?token= and bearer', async () => {
    const token = await tokenOf(await login(JSON.stringify({ username: 'guest', password: 'guest' }), { 'content-type': 'application/json' }))
    const guest = { name: 'guest', tags: ['administrator'] }
    expect(await whoami({ headers: { Cookie: `warren_token=${token}` } })).toEqual([200, guest])
    expect(await whoami({}, `?token=${encodeURIComponent(token)}`)).toEqual([200, guest])
    expect(await whoami({ headers: { Authorization: `Bearer ${token}` } })).toEqual([200, guest])
  })

  test('basic auth and form credentials log in too', async () => {
    await tokenOf(await login('', basic('bob', 'bobpw')))
    await tokenOf(await login(new URLSearchParams({ username: 'bob', password: 'bobpw' })))
  })

  test('wrong credentials are 401 Login failed and set no cookie', async () => {
    const response = await login(JSON.stringify({ username: 'guest', password: 'wrong' }))
    expect(response.headers.get('set-cookie')).toBeNull()
    expect([response.status, await response.json()]).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
  })

  test('logout revokes the token and clears the cookie', async () => {
    const token = await tokenOf(await login(JSON.stringify({ username: 'bob', password: 'bobpw' })))
    const out = await fetch(`${broker.httpUrl}/api/logout`, { method: 'POST', headers: { Cookie: `warren_token=${token}` } })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/warren_token=;.*Max-Age=0/)
    expect(await whoami({}, `?token=${token}`)).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
  })

  test('wrong basic credentials never fall back to a valid cookie', async () => {
    const token = await tokenOf(await login(JSON.stringify({ username: 'guest', password: 'guest' })))
    expect(await whoami({ headers: { ...basic('guest', 'wrong'), Cookie: `warren_token=${token}` } })).toEqual([
      401,
      { error: 'not_authorized', reason: 'Login failed' },
    ])
  })
})

describe('requireTag', () => {
  let listener: HttpListener
  let url: string

  beforeAll(async () => {
    // The real app with one extra route guarded as the management API guards its admin routes.
    const app = createHttpApp({ broker: broker.server.broker, mqttSocket: (s) => s.destroy(), amqpSocket: (s) => s.destroy() })
    app.get('/test/admin', requireUser(), requireTag(['administrator']), (c) => c.json({ ok: c.get('user').name }))
    app.get('/test/any', requireUser(), (c) => c.json({ ok: c.get('user').name }))
    listener = await serveHttp({ host: '127.0.0.1', port: 0, app, maxWebSocketMessage: 1024 })
    url = `http://127.0.0.1:${listener.port}`
  })

  afterAll(async () => {
    await listener?.close()
    listener?.closeConnections()
  })

  test('a user without the tag gets 403 {error: not_authorised, reason: Not administrator user}', async () => {
    const response = await fetch(`${url}/test/admin`, { headers: basic('bob', 'bobpw') })
    expect([response.status, await response.json()]).toEqual([403, { error: 'not_authorised', reason: 'Not administrator user' }])
    const allowed = await fetch(`${url}/test/any`, { headers: basic('bob', 'bobpw') })
    expect([allowed.status, await allowed.json()]).toEqual([200, { ok: 'bob' }])
  })

  test('a user with the tag passes; no credentials is still 401 first', async () => {
    const response = await fetch(`${url}/test/admin`, { headers: basic('guest', 'guest') })
    expect([response.status, await response.json()]).toEqual([200, { ok: 'guest' }])
    expect((await fetch(`${url}/test/admin`)).status).toBe(401)
  })
})

