// The management API's queue endpoints against a real broker: declare, show, purge, get and
// delete over HTTP, each effect cross-checked over AMQP with amqplib, and every error answer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel } from 'amqplib'
import { amqplibConnect, closeQuietly, type Conn, rejectsWithCode, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'
import { type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api
let client: Conn
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
  client = await amqplibConnect(broker.amqpUrl)
  ch = await client.conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(client?.conn)
  await broker?.stop()
})

/** A fresh channel for an operation expected to close it. */
async function spareChannel(): Promise<Channel> {
  const spare = await client.conn.createChannel()
  spare.on('error', () => {})
  return spare
}

describe('PUT /api/queues/{vhost}/{name}', () => {
  test('creates the queue (201) with its properties; AMQP sees it; a second PUT is 204', async () => {
    const name = uniq('put')
    const put = await api('PUT', `/queues/%2F/${name}`, { durable: true, auto_delete: false, arguments: { 'x-max-length': 10 } })
    expect(put.status).toBe(201)
    expect((await ch.checkQueue(name)).messageCount).toBe(0)
    const again = await api('PUT', `/queues/%2F/${name}`, { durable: true, arguments: { 'x-max-length': 10 } })
    expect(again.status).toBe(204)
    const got = await api('GET', `/queues/%2F/${name}`)
    expect(got.status).toBe(200)
    expect(got.body).toMatchObject({
      name,
      vhost: '/',
      durable: true,
      auto_delete: false,
      exclusive: false,
      arguments: { 'x-max-length': 10 },
      messages: 0,
      messages_ready: 0,
      messages_unacknowledged: 0,
      consumers: 0,
      state: 'running',
      type: 'classic',
    })
  })

  test('an empty body declares a transient queue, as the AMQP method defaults', async () => {
    const name = uniq('empty')
    expect((await api('PUT', `/queues/%2F/${name}`)).status).toBe(201)
    expect((await api('GET', `/queues/%2F/${name}`)).body.durable).toBe(false)
  })

  test('a non-equivalent redeclare is 400 with RabbitMQ\'s reason', async () => {
    const name = uniq('ineq')
    await ch.assertQueue(name, { durable: false })
    const put = await api('PUT', `/queues/%2F/${name}`, { durable: true })
    expect(put.status).toBe(400)
    expect(put.body).toEqual({
      error: 'bad_request',
      reason: `inequivalent arg 'durable' for queue '${name}' in vhost '/': received 'true' but current is 'false'`,
    })
  })

  test('bad bodies are 400 naming the field', async () => {
    const name = uniq('bad')
    const wrongType = await api('PUT', `/queues/%2F/${name}`, { durable: 5 })
    expect(wrongType.status).toBe(400)
    expect(wrongType.body.error).toBe('bad_request')
    expect(wrongType.body.reason).toStartWith('durable:')
    const badArgs = await api('PUT', `/queues/%2F/${name}`, { arguments: [1, 2] })
    expect(badArgs.status).toBe(400)
    expect(badArgs.body.reason).toStartWith('arguments:')
    const notJson = await api('PUT', `/queues/%2F/${name}`, '{"durable": tru')
    expect(notJson.status).toBe(400)
    expect(notJson.body.reason).toStartWith('body:')
    const badArg = await api('PUT', `/queues/%2F/${name}`, { arguments: { 'x-max-length': 'ten' } })
    expect(badArg.status).toBe(400)
    expect(badArg.body.reason).toContain('x-max-length')
    expect((await api('GET', `/queues/%2F/${name}`)).status).toBe(404)
  })

  test('the amq. prefix is refused (403) and a missing vhost is 404', async () => {
    const reserved = await api('PUT', '/queues/%2F/amq.mine', {})
    expect(reserved.status).toBe(403)
    expect(reserved.body).toEqual({ error: 'not_authorised', reason: "queue name 'amq.mine' contains reserved prefix 'amq.*'" })
    const noVhost = await api('PUT', '/queues/nowhere/q', {})
    expect(noVhost.status).toBe(404)
    expect(noVhost.body.error).toBe('not_found')
  })

  test('"%2F" in the name is a slash in the queue name', async () => {
    expect((await api('PUT', '/queues/%2F/a%2Fb', {})).status).toBe(201)
    expect((await ch.checkQueue('a/b')).queue).toBe('a/b')
    expect((await api('GET', '/queues/%2F/a%2Fb')).body.name).toBe('a/b')
  })
})

describe('GET /api/queues', () => {
  test('counts published, unacknowledged and consumed messages, with message_stats', async () => {
    const name = uniq('counts')
    await ch.assertQueue(name)
    for (let i = 0; i < 3; i++) ch.sendToQueue(name, Buffer.from(`m${i}`))
    await waitForDepth(ch, name, 3)
    const consumer = await client.conn.createChannel()
    await consumer.prefetch(1)
    const { consumerTag } = await consumer.consume(name, () => {})
    const q = await waitFor(async () => {
      const answer = (await api('GET', `/queues/%2F/${name}`)).body
      return answer.messages_unacknowledged === 1 ? answer : undefined
    })
    expect(q).toMatchObject({ messages: 3, messages_ready: 2, messages_unacknowledged: 1, consumers: 1 })
    expect(q.message_stats).toMatchObject({ publish: 3, deliver: 1, deliver_get: 1, ack: 0 })
    expect(q.message_stats.publish_details).toEqual({ rate: expect.any(Number) })
    const list = (await api('GET', '/queues/%2F')).body as { name: string }[]
    expect(list.some((x) => x.name === name)).toBe(true)
    await consumer.cancel(consumerTag)
    await consumer.close()
  })

  test('a queue that never saw a message has no message_stats, as in RabbitMQ', async () => {
    const name = uniq('idle')
    await ch.assertQueue(name)
    expect((await api('GET', `/queues/%2F/${name}`)).body.message_stats).toBeUndefined()
  })

  test('an exclusive queue names its owner connection', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true })
    const q = (await api('GET', `/queues/%2F/${encodeURIComponent(queue)}`)).body
    expect(q.exclusive).toBe(true)
    expect(q.owner_pid_details.name).toContain('->')
    expect(typeof q.owner_pid_details.peer_port).toBe('number')
  })

  test('a missing queue or vhost is 404', async () => {
    expect(await api('GET', '/queues/%2F/no-such-queue')).toMatchObject({ status: 404, body: { error: 'not_found' } })
    expect((await api('GET', '/queues/no-such-vhost')).status).toBe(404)
  })
})

describe('POST /api/queues/{vhost}/{name}/get', () => {
  async function filled(count: number): Promise<string> {
    const name = uniq('get')
    await ch.assertQueue(name)
    for (let i = 0; i < count; i++) ch.sendToQueue(name, Buffer.from(`body-${i}`), { contentType: 'text/plain', headers: { n: i } })
    await waitForDepth(ch, name, count)
    return name
  }

  test('ack_requeue_true shows messages and leaves them, now redelivered', async () => {
    const name = await filled(2)
    const got = await api('POST', `/queues/%2F/${name}/get`, { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' })
    expect(got.status).toBe(200)
    expect(got.body).toEqual([
      {
        payload_bytes: 6,
        redelivered: false,
        exchange: '',
        routing_key: name,
        message_count: 1,
        properties: { content_type: 'text/plain', headers: { n: 0 } },
        payload: 'body-0',
        payload_encoding: 'string',
      },
      expect.objectContaining({ payload: 'body-1', message_count: 0 }),
    ])
    expect((await ch.checkQueue(name)).messageCount).toBe(2)
    const again = await api('POST', `/queues/%2F/${name}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' })
    expect(again.body[0]).toMatchObject({ payload: 'body-0', redelivered: true })
  })

  test('ack_requeue_false removes them; the next get is empty', async () => {
    const name = await filled(2)
    const got = await api('POST', `/queues/%2F/${name}/get`, { count: 2, ackmode: 'ack_requeue_false', encoding: 'auto' })
    expect(got.body.map((m: { payload: string }) => m.payload)).toEqual(['body-0', 'body-1'])
    expect((await ch.checkQueue(name)).messageCount).toBe(0)
    expect((await api('POST', `/queues/%2F/${name}/get`, { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).body).toEqual([])
  })

  test('reject_requeue_false dead-letters them', async () => {
    const dead = uniq('dead')
    await ch.assertQueue(dead)
    const name = uniq('dlx')
    await ch.assertQueue(name, { deadLetterExchange: '', deadLetterRoutingKey: dead })
    ch.sendToQueue(name, Buffer.from('x'))
    await waitForDepth(ch, name, 1)
    await api('POST', `/queues/%2F/${name}/get`, { count: 1, ackmode: 'reject_requeue_false', encoding: 'auto' })
    await waitForDepth(ch, dead, 1)
    expect((await ch.checkQueue(name)).messageCount).toBe(0)
  })

  test('base64 encoding, binary payloads and truncate', async () => {
    const name = uniq('bin')
    await ch.assertQueue(name)
    ch.sendToQueue(name, Buffer.from([0xff, 0x00, 0xfe, 0x41]))
    ch.sendToQueue(name, Buffer.from('hello world'))
    await waitForDepth(ch, name, 2)
    const auto = await api('POST', `/queues/%2F/${name}/get`, { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 5 })
    expect(auto.body[0]).toMatchObject({ payload: Buffer.from([0xff, 0x00, 0xfe, 0x41]).toString('base64'), payload_encoding: 'base64', payload_bytes: 4 })
    expect(auto.body[1]).toMatchObject({ payload: 'hello', payload_encoding: 'string', payload_bytes: 11 })
    const b64 = await api('POST', `/queues/%2F/${name}/get`, { count: '1', ackmode: 'ack_requeue_true', encoding: 'base64' })
    expect(b64.body[0]).toMatchObject({ payload_encoding: 'base64' })
  })

  test('bad bodies are 400 naming the field; a missing queue is 404', async () => {
    const name = await filled(0)
    const noMode = await api('POST', `/queues/%2F/${name}/get`, { count: 1, encoding: 'auto' })
    expect(noMode.status).toBe(400)
    expect(noMode.body.reason).toStartWith('ackmode:')
    const badEncoding = await api('POST', `/queues/%2F/${name}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'hex' })
    expect(badEncoding.body.reason).toStartWith('encoding:')
    const badCount = await api('POST', `/queues/%2F/${name}/get`, { count: 'many', ackmode: 'ack_requeue_true', encoding: 'auto' })
    expect(badCount.body.reason).toStartWith('count:')
    const missing = await api('POST', '/queues/%2F/nothing-here/get', { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' })
    expect(missing.status).toBe(404)
  })
})

describe('DELETE /api/queues/{vhost}/{name}[/contents]', () => {
  test('contents purges the ready messages (204)', async () => {
    const name = uniq('purge')
    await ch.assertQueue(name)
    for (let i = 0; i < 4; i++) ch.sendToQueue(name, Buffer.from('p'))
    await waitForDepth(ch, name, 4)
    expect((await api('DELETE', `/queues/%2F/${name}/contents`)).status).toBe(204)
    expect((await ch.checkQueue(name)).messageCount).toBe(0)
    expect((await api('DELETE', '/queues/%2F/no-such/contents')).status).toBe(404)
  })

  test('deletes the queue (204); AMQP no longer finds it; a second delete is 404', async () => {
    const name = uniq('del')
    await ch.assertQueue(name)
    expect((await api('DELETE', `/queues/%2F/${name}`)).status).toBe(204)
    await rejectsWithCode((await spareChannel()).checkQueue(name), 404, 'NOT_FOUND')
    expect((await api('DELETE', `/queues/%2F/${name}`)).status).toBe(404)
  })

  test('if-empty and if-unused refuse with 400', async () => {
    const name = uniq('cond')
    await ch.assertQueue(name)
    ch.sendToQueue(name, Buffer.from('keep'))
    await waitForDepth(ch, name, 1)
    const notEmpty = await api('DELETE', `/queues/%2F/${name}?if-empty=true`)
    expect(notEmpty).toMatchObject({ status: 400, body: { error: 'bad_request', reason: `queue '${name}' in vhost '/' not empty` } })
    const consumer = await client.conn.createChannel()
    await consumer.consume(name, () => {}, { noAck: false })
    const inUse = await api('DELETE', `/queues/%2F/${name}?if-unused=true`)
    expect(inUse).toMatchObject({ status: 400, body: { reason: `queue '${name}' in vhost '/' in use` } })
    await consumer.close()
    expect((await api('DELETE', `/queues/%2F/${name}`)).status).toBe(204)
  })
})

describe('GET /api/queues/{vhost}/{name}/bindings', () => {
  test('lists the default binding and exchange bindings', async () => {
    const name = uniq('qb')
    await ch.assertQueue(name)
    await ch.bindQueue(name, 'amq.topic', 'a.#')
    const answer = await api('GET', `/queues/%2F/${name}/bindings`)
    expect(answer.body).toEqual([
      { source: '', vhost: '/', destination: name, destination_type: 'queue', routing_key: name, arguments: {}, properties_key: name },
      { source: 'amq.topic', vhost: '/', destination: name, destination_type: 'queue', routing_key: 'a.#', arguments: {}, properties_key: 'a.%23' },
    ])
  })
})
