// /api/overview, connections, channels, consumers, health checks and list pagination against a
// real broker with real AMQP and MQTT clients.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel } from 'amqplib'
import mqtt from 'mqtt'
import { amqplibConnect, closeQuietly, type Conn, uniq, waitForDepth } from '../helpers/amqp.ts'
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
  client = await amqplibConnect(broker.amqpUrl, { clientProperties: { connection_name: 'overview-test' } })
  ch = await client.conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(client?.conn)
  await broker?.stop()
})

describe('GET /api/overview', () => {
  test('object totals, queue totals and message stats follow AMQP traffic; rates come from samples', async () => {
    const q = uniq('ov')
    await ch.assertQueue(q)
    const before = (await api('GET', '/overview')).body
    expect(before).toMatchObject({ product_name: 'Warren', rabbitmq_version: expect.any(String), node: expect.any(String) })
    expect(before.exchange_types.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['direct', 'fanout', 'topic', 'headers']))
    expect(before.object_totals).toMatchObject({ connections: 1, channels: 1, queues: 1, exchanges: 7, consumers: 0 })
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from('x'))
    await waitForDepth(ch, q, 5)
    const after = await waitFor(async () => {
      const o = (await api('GET', '/overview')).body
      // A rate needs two samples at least a second apart.
      return o.message_stats.publish_details.rate > 0 ? o : undefined
    }, { timeout: 5000, interval: 200 })
    expect(after.message_stats.publish - before.message_stats.publish).toBe(5)
    expect(after.queue_totals).toMatchObject({ messages: 5, messages_ready: 5, messages_unacknowledged: 0 })
    expect(after.queue_totals.messages_details).toEqual({ rate: expect.any(Number) })
    await ch.purgeQueue(q)
    await ch.deleteQueue(q)
  })
})

describe('connections, channels and consumers', () => {
  test('an amqplib consumer shows up in all three lists with RabbitMQ fields', async () => {
    const q = uniq('cq')
    await ch.assertQueue(q)
    await ch.prefetch(7)
    const { consumerTag } = await ch.consume(q, () => {}, { noAck: false })
    const connections = (await api('GET', '/connections')).body
    expect(connections).toHaveLength(1)
    const conn = connections[0]
    expect(conn).toMatchObject({
      vhost: '/',
      user: 'guest',
      protocol: 'AMQP 0-9-1',
      peer_host: '127.0.0.1',
      channels: 1,
      state: 'running',
      user_provided_name: 'overview-test',
      client_properties: { connection_name: 'overview-test', product: 'amqplib' },
    })
    expect(conn.name).toContain('127.0.0.1:')
    const channels = (await api('GET', '/channels')).body
    expect(channels).toHaveLength(1)
    expect(channels[0]).toMatchObject({
      name: `${conn.name} (1)`,
      number: 1,
      consumer_count: 1,
      prefetch_count: 7,
      connection_details: { name: conn.name, peer_host: '127.0.0.1', peer_port: conn.peer_port },
    })
    expect((await api('GET', `/channels/${encodeURIComponent(channels[0].name)}`)).body.number).toBe(1)
    expect((await api('GET', `/connections/${encodeURIComponent(conn.name)}/channels`)).body).toHaveLength(1)
    const consumers = (await api('GET', '/consumers/%2F')).body
    expect(consumers).toEqual([
      expect.objectContaining({
        consumer_tag: consumerTag,
        queue: { name: q, vhost: '/' },
        ack_required: true,
        prefetch_count: 7,
        active: true,
        channel_details: expect.objectContaining({ connection_name: conn.name, number: 1, user: 'guest' }),
      }),
    ])
    expect((await api('GET', `/connections/${encodeURIComponent(conn.name)}`)).body.name).toBe(conn.name)
    await ch.cancel(consumerTag)
    expect((await api('GET', '/consumers')).body).toEqual([])
  })

  test('an MQTT client is listed as an MQTT connection', async () => {
    const m = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'mgmt-mqtt', protocolVersion: 4 })
    try {
      const listed = await waitFor(async () => {
        const all = (await api('GET', '/connections')).body as { protocol: string; user_provided_name: string }[]
        return all.find((c) => c.protocol === 'MQTT')
      })
      expect(listed.user_provided_name).toBe('mgmt-mqtt')
    } finally {
      await m.endAsync()
    }
  })

  test('DELETE closes the connection: the AMQP client sees CONNECTION_FORCED with X-Reason', async () => {
    const victim = await amqplibConnect(broker.amqpUrl)
    const all = (await api('GET', '/connections')).body as { name: string; peer_port: number }[]
    const localPort = (victim.conn.connection as unknown as { stream: { localPort: number } }).stream.localPort
    const mine = all.find((c) => c.peer_port === localPort)!
    const closed = await api('DELETE', `/connections/${encodeURIComponent(mine.name)}`, undefined, { 'X-Reason': 'maintenance' })
    expect(closed.status).toBe(204)
    const error = await victim.watch.closed
    expect(error?.message).toContain('CONNECTION_FORCED - maintenance')
    expect((await api('DELETE', `/connections/${encodeURIComponent(mine.name)}`)).status).toBe(404)
    expect((await api('GET', `/connections/${encodeURIComponent(mine.name)}`)).status).toBe(404)
  })

  test('without X-Reason the client is told "Closed via management plugin"', async () => {
    const victim = await amqplibConnect(broker.amqpUrl)
    const localPort = (victim.conn.connection as unknown as { stream: { localPort: number } }).stream.localPort
    const mine = ((await api('GET', '/connections')).body as { name: string; peer_port: number }[]).find((c) => c.peer_port === localPort)!
    await api('DELETE', `/connections/${encodeURIComponent(mine.name)}`)
    expect((await victim.watch.closed)?.message).toContain('CONNECTION_FORCED - Closed via management plugin')
  })
})

describe('health checks', () => {
  test('alarms: ok without alarms; aliveness-test round-trips a message', async () => {
    expect(await api('GET', '/health/checks/alarms')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(await api('GET', '/aliveness-test/%2F')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect((await ch.checkQueue('aliveness-test')).messageCount).toBe(0)
    expect((await api('GET', '/aliveness-test/nowhere')).status).toBe(404)
  })

  test('a memory alarm makes the alarms check 503 with the alarm listed', async () => {
    const small = await startBroker({ memoryHighWatermark: 1000 })
    try {
      const c = await amqplibConnect(small.amqpUrl)
      const chan = await c.conn.createChannel()
      const q = uniq('big')
      await chan.assertQueue(q)
      chan.sendToQueue(q, Buffer.alloc(2000))
      await waitForDepth(chan, q, 1)
      const answer = await apiFor(small)('GET', '/health/checks/alarms')
      expect(answer.status).toBe(503)
      expect(answer.body).toEqual({
        status: 'failed',
        reason: 'There are alarms in effect in the cluster',
        alarms: [{ node: expect.any(String), resource: 'memory' }],
      })
      await closeQuietly(c.conn)
    } finally {
      await small.stop()
    }
  })
})

describe('pagination, sorting, filtering', () => {
  const prefix = uniq('pg')
  beforeAll(async () => {
    for (let i = 0; i < 12; i++) {
      const name = `${prefix}-${String(i).padStart(2, '0')}`
      await ch.assertQueue(name)
      for (let j = 0; j < i % 4; j++) ch.sendToQueue(name, Buffer.from('m'))
    }
    await waitForDepth(ch, `${prefix}-11`, 3)
  })

  test('page and page_size give RabbitMQ\'s envelope, sorted by vhost then name', async () => {
    const all = (await api('GET', '/queues')).body as { name: string }[]
    const page = (await api('GET', `/queues?page=2&page_size=5&name=${prefix}`)).body
    expect(page).toMatchObject({ total_count: all.length, filtered_count: 12, item_count: 5, page: 2, page_size: 5, page_count: 3 })
    expect(page.items.map((q: { name: string }) => q.name)).toEqual([5, 6, 7, 8, 9].map((i) => `${prefix}-0${i}`))
    const last = (await api('GET', `/queues?page=3&page_size=5&name=${prefix}`)).body
    expect(last.item_count).toBe(2)
  })

  test('sort by a field (dotted paths too) and sort_reverse', async () => {
    const sorted = (await api('GET', `/queues?page=1&page_size=12&name=${prefix}&sort=messages&sort_reverse=true`)).body.items
    const counts = sorted.map((q: { messages: number }) => q.messages)
    expect(counts).toEqual([...counts].sort((a: number, b: number) => b - a))
    expect(counts[0]).toBe(3)
    const byStats = (await api('GET', `/queues?page=1&page_size=3&name=${prefix}&sort=message_stats.publish&sort_reverse=true`)).body.items
    expect(byStats[0].message_stats.publish).toBe(3)
  })

  test('use_regex filters by regular expression; columns keeps only some fields', async () => {
    const regex = (await api('GET', `/queues?page=1&name=${encodeURIComponent(`^${prefix}-0[0-2]$`)}&use_regex=true`)).body
    expect(regex.filtered_count).toBe(3)
    const cols = (await api('GET', `/queues?page=1&page_size=1&name=${prefix}&columns=name,message_stats.publish`)).body.items[0]
    expect(cols).toEqual({ name: `${prefix}-00` })
    const withStats = (await api('GET', `/queues?page=1&page_size=1&name=${prefix}-01&columns=name,message_stats.publish`)).body.items[0]
    expect(withStats).toEqual({ name: `${prefix}-01`, message_stats: { publish: 1 } })
  })

  test('bad parameters are 400 naming the parameter; a page past the end is page_out_of_range', async () => {
    const big = await api('GET', '/queues?page=1&page_size=1000')
    expect(big.status).toBe(400)
    expect(big.body.reason).toStartWith('page_size:')
    expect((await api('GET', '/queues?page=0')).body.reason).toStartWith('page:')
    expect((await api('GET', '/queues?page=x')).body.reason).toStartWith('page:')
    expect((await api('GET', '/queues?page=1&sort_reverse=yes')).body.reason).toStartWith('sort_reverse:')
    expect((await api('GET', `/queues?page=1&name=${encodeURIComponent('(')}&use_regex=true`)).body.reason).toStartWith('name:')
    const past = await api('GET', `/queues?page=9&page_size=5&name=${prefix}`)
    expect(past.status).toBe(400)
    expect(past.body.error).toBe('page_out_of_range')
  })
})

describe('listing 10,000 queues', () => {
  test('pages through all of them with exact counts', async () => {
    const many = await startBroker()
    try {
      const c = await amqplibConnect(many.amqpUrl)
      const chan = await c.conn.createChannel()
      for (let i = 0; i < 10_000; i++) void chan.assertQueue(`bulk-${String(i).padStart(5, '0')}`)
      await chan.assertQueue('bulk-last')
      const manyApi = apiFor(many)
      const first = (await manyApi('GET', '/queues/%2F?page=1&page_size=500')).body
      expect(first).toMatchObject({ total_count: 10_001, filtered_count: 10_001, item_count: 500, page_count: 21 })
      expect(first.items[0].name).toBe('bulk-00000')
      const full = (await manyApi('GET', '/queues')).body as unknown[]
      expect(full).toHaveLength(10_001)
      await closeQuietly(c.conn)
    } finally {
      await many.stop()
    }
  })
})
