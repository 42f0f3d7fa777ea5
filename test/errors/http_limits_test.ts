// What JSON brings in must fit what the other protocols carry (AMQP short strings of 255 bytes,
// field tables nested at most 100 deep): refused at the door with a 400 JSON answer, never
// accepted and left to fail later (a 500 on every listing, a delivery no AMQP client can get).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

let broker: TestBroker
const AUTH = `Basic ${btoa('guest:guest')}`

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

function nestedJson(depth: number): string {
  return '{"k":'.repeat(depth) + '1' + '}'.repeat(depth)
}

async function call(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<[number, unknown]> {
  const response = await fetch(`${broker.httpUrl}${path}`, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json', ...headers },
    body,
  })
  const text = await response.text()
  return [response.status, text === '' ? null : JSON.parse(text)]
}

function publishBody(properties: string, routingKey = 'k'): string {
  return `{"properties":${properties},"routing_key":${JSON.stringify(routingKey)},"payload":"x","payload_encoding":"string"}`
}

describe('HTTP input that AMQP could not carry is a 400', () => {
  test('publish: headers nested 150 and 20,000 deep, a header name over 255 bytes, a 400-byte content type or routing key', async () => {
    const bad = [
      publishBody(`{"headers":{"h":${nestedJson(150)}}}`),
      publishBody(`{"headers":{"h":${nestedJson(20_000)}}}`),
      publishBody(`{"headers":{"${'k'.repeat(300)}":1}}`),
      publishBody(JSON.stringify({ content_type: 'é'.repeat(200) })),
      publishBody('{}', 'é'.repeat(200)),
    ]
    for (const body of bad) {
      const [status, answer] = await call('POST', '/api/exchanges/%2F/amq.default/publish', body)
      expect(status).toBe(400)
      expect(answer).toMatchObject({ error: 'bad_request' })
    }
    // Within the limits: fine.
    const [status] = await call('POST', '/api/exchanges/%2F/amq.default/publish', publishBody(`{"headers":{"h":${nestedJson(50)}}}`))
    expect(status).toBe(200)
  })

  test('topic publish with a Content-Type over 255 bytes', async () => {
    const [status, answer] = await call('POST', '/api/topics/%2F/a/b', 'hello', { 'Content-Type': `text/${'x'.repeat(300)}` })
    expect(status).toBe(400)
    expect(answer).toMatchObject({ error: 'bad_request' })
  })

  test('queue arguments nested 100,000 deep and names over 255 bytes; listings keep working', async () => {
    const [deep] = await call('PUT', '/api/queues/%2F/deep-args', `{"durable":true,"arguments":{"x-foo":${nestedJson(100_000)}}}`)
    expect(deep).toBe(400)
    const [longQueue] = await call('PUT', `/api/queues/%2F/${encodeURIComponent('é'.repeat(200))}`, '{}')
    expect(longQueue).toBe(400)
    const [longExchange] = await call('PUT', `/api/exchanges/%2F/${encodeURIComponent('é'.repeat(200))}`, '{"type":"direct"}')
    expect(longExchange).toBe(400)
    const listing = await fetch(`${broker.httpUrl}/api/queues`, { headers: { Authorization: AUTH } })
    expect(listing.status).toBe(200)
  })
})
