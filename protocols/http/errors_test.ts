import { describe, expect, test } from 'bun:test'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { z } from 'zod'
import { BrokerError, type ErrorCode } from '../../src/api.ts'
import { badRequest, forbidden, notFound, onError } from './errors.ts'
import { parseJson, parseQuery } from './schemas.ts'

/** An app whose only route throws `error`. */
function answer(error: unknown, init?: RequestInit, path = '/x'): Promise<Response> {
  const app = new Hono()
  app.all('/x', () => {
    throw error
  })
  app.onError(onError)
  app.notFound(notFound)
  return Promise.resolve(app.request(path, init))
}

async function shape(response: Response): Promise<[number, unknown]> {
  return [response.status, await response.json()]
}

describe('onError', () => {
  const cases: [ErrorCode, number, string][] = [
    ['not-found', 404, 'not_found'],
    ['access-refused', 403, 'not_authorised'],
    ['not-allowed', 403, 'not_authorised'],
    ['precondition-failed', 400, 'bad_request'],
    ['invalid-argument', 400, 'bad_request'],
    ['resource-locked', 400, 'bad_request'],
    ['connection-forced', 503, 'service_unavailable'],
    ['internal', 500, 'internal_server_error'],
  ]
  for (const [code, status, error] of cases) {
    test(`BrokerError ${code} is ${status} {error: '${error}'} with the core's text as reason`, async () => {
      const reason = `no queue 'q' in vhost '/' (${code})`
      expect(await shape(await answer(new BrokerError(code, reason)))).toEqual([status, { error, reason }])
    })
  }

  test('HttpError helpers keep their status, type and reason', async () => {
    expect(await shape(await answer(badRequest('page: expected a number')))).toEqual([400, { error: 'bad_request', reason: 'page: expected a number' }])
    expect(await shape(await answer(forbidden('Not administrator user')))).toEqual([403, { error: 'not_authorised', reason: 'Not administrator user' }])
  })

  test('a zod error is 400 naming the field and the problem', async () => {
    const schema = z.object({ routing_key: z.string(), properties: z.object({ priority: z.number() }) })
    const result = schema.safeParse({ routing_key: 1, properties: { priority: 1 } })
    const [status, body] = await shape(await answer(result.error))
    expect(status).toBe(400)
    expect(body).toEqual({ error: 'bad_request', reason: expect.stringMatching(/^routing_key: .*expected string/) })
  })

  test('a SyntaxError (c.req.json() on bad JSON) is 400 with the parser\'s text', async () => {
    let error: unknown
    try {
      JSON.parse('{bad')
    } catch (e) {
      error = e
    }
    const [status, body] = await shape(await answer(error))
    expect(status).toBe(400)
    expect((body as { error: string }).error).toBe('bad_request')
  })

  test('hono HTTPException keeps its status', async () => {
    expect(await shape(await answer(new HTTPException(405, { message: 'Method Not Allowed' })))).toEqual([
      405,
      { error: 'method_not_allowed', reason: 'Method Not Allowed' },
    ])
  })

  test('anything else is 500 without internals in the answer', async () => {
    expect(await shape(await answer(new TypeError('x is undefined')))).toEqual([500, { error: 'internal_server_error', reason: 'Internal server error' }])
  })

  test('an unknown path is 404 JSON', async () => {
    expect(await shape(await answer(null, undefined, '/nowhere'))).toEqual([404, { error: 'not_found', reason: 'Not Found' }])
  })
})

describe('parseJson and parseQuery', () => {
  const body = z.object({ name: z.string(), durable: z.boolean().optional() }).strict()

  function app() {
    const app = new Hono()
    app.post('/body', async (c) => c.json(await parseJson(c, body)))
    app.get('/query', (c) => c.json(parseQuery(c, z.object({ page: z.coerce.number().int().min(1) }))))
    app.onError(onError)
    return app
  }

  test('valid JSON passes; an empty body is {}', async () => {
    expect(await shape(await app().request('/body', { method: 'POST', body: '{"name":"q"}' }))).toEqual([200, { name: 'q' }])
    const [status, answer] = await shape(await app().request('/body', { method: 'POST', body: '' }))
    expect(status).toBe(400)
    expect(answer).toEqual({ error: 'bad_request', reason: expect.stringMatching(/^name: /) })
  })

  test('malformed JSON is 400 "body: invalid JSON: …"', async () => {
    const [status, answer] = await shape(await app().request('/body', { method: 'POST', body: '{"name":' }))
    expect(status).toBe(400)
    expect(answer).toEqual({ error: 'bad_request', reason: expect.stringMatching(/^body: invalid JSON: /) })
  })

  test('an unknown field and a wrong type are named', async () => {
    expect(await shape(await app().request('/body', { method: 'POST', body: '{"name":"q","colour":1}' }))).toEqual([
      400,
      { error: 'bad_request', reason: 'colour: unknown field' },
    ])
    const [, answer] = await shape(await app().request('/body', { method: 'POST', body: '{"name":"q","durable":"yes"}' }))
    expect((answer as { reason: string }).reason).toMatch(/^durable: .*expected boolean/)
  })

  test('a bad query parameter is named', async () => {
    const [status, answer] = await shape(await app().request('/query?page=0'))
    expect(status).toBe(400)
    expect((answer as { reason: string }).reason).toMatch(/^page: /)
  })
})
