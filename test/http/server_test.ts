// The HTTP listener with real fetch: bound on port 0 beside AMQP and MQTT, the RabbitMQ-shaped
// error answers ({error, reason}), body limits and CORS.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

const GUEST = { Authorization: `Basic ${btoa('guest:guest')}` }

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker({ httpMaxBodySize: 1024, httpCorsOrigins: ['https://app.example'] })
})

afterAll(async () => {
  await broker?.stop()
})

async function json(response: Response): Promise<[number, unknown]> {
  return [response.status, await response.json()]
}

describe('HTTP server', () => {
  test('listens on its own port next to AMQP and MQTT and answers an authenticated request', async () => {
    expect(broker.httpPort).toBeGreaterThan(0)
    expect(new Set([broker.httpPort, broker.amqpPort, broker.mqttPort]).size).toBe(3)
    const response = await fetch(`${broker.httpUrl}/api/whoami`, { headers: GUEST })
    expect(response.headers.get('content-type')).toContain('application/json')
    const [status, body] = await json(response)
    expect(status).toBe(200)
    expect(body).toMatchObject({ name: 'guest', tags: ['administrator'] })
  })

  test('without credentials: 401 {error: not_authorized, reason: Login failed} with a basic challenge', async () => {
    const response = await fetch(`${broker.httpUrl}/api/whoami`)
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
    expect(await json(response)).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
  })

  test('a wrong password, an unknown user and a malformed header are all 401 Login failed', async () => {
    for (const authorization of [`Basic ${btoa('guest:nope')}`, `Basic ${btoa('nobody:guest')}`, 'Basic %%%', 'Bearer not-a-token']) {
      const response = await fetch(`${broker.httpUrl}/api/whoami`, { headers: { Authorization: authorization } })
      expect(await json(response)).toEqual([401, { error: 'not_authorized', reason: 'Login failed' }])
    }
  })

  test('an unknown path is 404 JSON', async () => {
    expect(await json(await fetch(`${broker.httpUrl}/no/such/thing`, { headers: GUEST }))).toEqual([404, { error: 'not_found', reason: 'Not Found' }])
  })

  test('malformed JSON is 400 naming the problem', async () => {
    const response = await fetch(`${broker.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username": "guest", "password": ',
    })
    const [status, body] = await json(response)
    expect(status).toBe(400)
    expect(body).toEqual({ error: 'bad_request', reason: expect.stringMatching(/^body: invalid JSON: /) })
  })

  test('a JSON body of the wrong shape is 400 naming the field', async () => {
    const response = await fetch(`${broker.httpUrl}/api/login`, { method: 'POST', body: JSON.stringify({ username: 'guest', password: 7 }) })
    const [status, body] = await json(response)
    expect(status).toBe(400)
    expect(body).toEqual({ error: 'bad_request', reason: expect.stringMatching(/^password: .*expected string/) })
  })

  test('a body over the limit is 413, whether it declares its length or is chunked', async () => {
    const big = JSON.stringify({ username: 'guest', password: 'x'.repeat(2000) })
    const expected = { error: 'payload_too_large', reason: 'Exceeded HTTP request body size limit (1024 bytes)' }
    expect(await json(await fetch(`${broker.httpUrl}/api/login`, { method: 'POST', body: big }))).toEqual([413, expected])
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(600)))
        controller.close()
      },
    })
    const response = await fetch(`${broker.httpUrl}/api/login`, { method: 'POST', body: chunked, duplex: 'half' } as RequestInit)
    expect(await json(response)).toEqual([413, expected])
    // The server is still fine afterwards.
    expect((await fetch(`${broker.httpUrl}/api/whoami`, { headers: GUEST })).status).toBe(200)
  })

  test('CORS: a configured origin gets its preflight answered with credentials allowed; others get no CORS headers', async () => {
    const preflight = await fetch(`${broker.httpUrl}/api/whoami`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    const simple = await fetch(`${broker.httpUrl}/api/whoami`, { headers: { ...GUEST, Origin: 'https://app.example' } })
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const other = await fetch(`${broker.httpUrl}/api/whoami`, { headers: { ...GUEST, Origin: 'https://evil.example' } })
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('GET /mqtt without an upgrade is 426', async () => {
    const response = await fetch(`${broker.httpUrl}/mqtt`)
    expect(response.status).toBe(426)
    expect(await response.json()).toEqual({ error: 'upgrade_required', reason: 'Expected a WebSocket upgrade request' })
  })
})

describe('HTTP server on the default host', () => {
  test('"::" serves IPv4 clients (dual-stack, or the IPv4 fallback)', async () => {
    const dual = await startBroker({ host: '::' })
    try {
      const response = await fetch(`http://127.0.0.1:${dual.httpPort}/api/whoami`, { headers: GUEST })
      expect(response.status).toBe(200)
    } finally {
      await dual.stop()
    }
  })

  test('stop closes the listener', async () => {
    const short = await startBroker()
    const url = `${short.httpUrl}/api/whoami`
    expect((await fetch(url, { headers: GUEST })).status).toBe(200)
    await short.stop()
    await expect(fetch(url, { headers: { ...GUEST, Connection: 'close' } })).rejects.toThrow()
  })
})
