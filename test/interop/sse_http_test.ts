// Web clients meet devices and services in the core: MQTT (mqtt.js) and AMQP (amqplib) publishes
// reach SSE streams, and HTTP publishes reach MQTT subscribers and AMQP consumers. MQTT topics
// are amq.topic routing keys as RabbitMQ maps them ('/' <-> '.').
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel } from 'amqplib'
import { amqplibConnect, closeQuietly, consumeN, uniq } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, uniqueId } from '../helpers/mqtt.ts'
import { GUEST_AUTH, SseClient } from '../http/sse_client.ts'

let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${broker.httpUrl}${path}`, { method: 'POST', headers: { Authorization: GUEST_AUTH, ...headers }, body })
}

describe('into SSE', () => {
  test('MQTT publish (3.1.1 and 5.0) -> SSE filter subscriber, with the MQTT 5 content type', async () => {
    const root = uniqueId('m2s')
    const sse = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/%23`)
    const v4 = await connectMqtt(broker.mqttUrl, { version: 4 })
    const v5 = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sse.opened()
      await v4.publish(`${root}/dev1/temp`, '20.5', { qos: 1 })
      await v5.publish(`${root}/dev2/temp`, '{"t":21}', { qos: 1, properties: { contentType: 'application/json' } })
      const [a, b] = await sse.received(2)
      expect(a!.data).toMatchObject({ exchange: 'amq.topic', routing_key: `${root}.dev1.temp`, topic: `${root}/dev1/temp`, payload: '20.5' })
      expect(b!.data).toMatchObject({ topic: `${root}/dev2/temp`, payload: '{"t":21}', properties: { content_type: 'application/json' } })
    } finally {
      sse.close()
      await endAll(v4, v5)
    }
  })

  test('AMQP publish -> SSE filter and binding-key subscribers, properties included', async () => {
    const root = uniq('a2s')
    const byFilter = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/%2B`)
    const byKey = new SseClient(`${broker.httpUrl}/api/sse/%2F?binding_key=${root}.*`)
    try {
      await byFilter.opened()
      await byKey.opened()
      ch.publish('amq.topic', `${root}.orders`, Buffer.from('order-1'), {
        contentType: 'text/plain',
        correlationId: 'c-9',
        headers: { source: 'erp' },
      })
      for (const client of [byFilter, byKey]) {
        const [m] = await client.received(1)
        expect(m!.data).toMatchObject({
          exchange: 'amq.topic',
          routing_key: `${root}.orders`,
          topic: `${root}/orders`,
          payload: 'order-1',
          properties: { content_type: 'text/plain', correlation_id: 'c-9', headers: { source: 'erp' } },
        })
      }
    } finally {
      byFilter.close()
      byKey.close()
    }
  })

  test('AMQP publish -> SSE queue consumer, confirmed over HTTP', async () => {
    const queue = uniq('a2q')
    await ch.assertQueue(queue, { autoDelete: false })
    const sse = new SseClient(`${broker.httpUrl}/api/sse/%2F/queues/${queue}?ack=explicit`)
    try {
      await sse.opened()
      ch.sendToQueue(queue, Buffer.from('job-1'))
      const [m] = await sse.received(1)
      expect(m!.data.payload).toBe('job-1')
      const ack = await post(`/api/sse/%2F/queues/${queue}/ack`, JSON.stringify({ up_to: m!.id }), { 'Content-Type': 'application/json' })
      expect(await ack.json()).toEqual({ acked: 1 })
      expect((await ch.checkQueue(queue)).messageCount).toBe(0)
    } finally {
      sse.close()
      await ch.deleteQueue(queue)
    }
  })
})

describe('from HTTP publish', () => {
  test('POST /api/topics -> MQTT subscribers (3.1.1 and 5.0), content type as the MQTT 5 property', async () => {
    const root = uniqueId('h2m')
    const v4 = await connectMqtt(broker.mqttUrl, { version: 4 })
    const v5 = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await v4.subscribe(`${root}/+/cmd`, { qos: 1 })
      await v5.subscribe(`${root}/#`, { qos: 1 })
      const response = await post(`/api/topics/%2F/${root}/lamp/cmd`, '{"on":true}', { 'Content-Type': 'application/json' })
      expect(await response.json()).toEqual({ routed: true })
      const [a] = await v4.waitMessages(1)
      const [b] = await v5.waitMessages(1)
      expect([a!.topic, a!.text]).toEqual([`${root}/lamp/cmd`, '{"on":true}'])
      expect([b!.topic, b!.text]).toEqual([`${root}/lamp/cmd`, '{"on":true}'])
      expect(b!.packet.properties?.contentType).toBe('application/json')
    } finally {
      await endAll(v4, v5)
    }
  })

  test('POST /api/exchanges/…/publish -> MQTT subscriber and AMQP consumer', async () => {
    const root = uniqueId('h2ma')
    const mqttClient = await connectMqtt(broker.mqttUrl, { version: 5 })
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(queue, 'amq.topic', `${root}.#`)
    try {
      await mqttClient.subscribe(`${root}/#`, { qos: 0 })
      const body = {
        properties: { content_type: 'text/plain', headers: { k: 'v' } },
        routing_key: `${root}.alerts`,
        payload: 'fire',
        payload_encoding: 'string',
      }
      const response = await post('/api/exchanges/%2F/amq.topic/publish', JSON.stringify(body), { 'Content-Type': 'application/json' })
      expect(await response.json()).toEqual({ routed: true })
      const [m] = await mqttClient.waitMessages(1)
      expect([m!.topic, m!.text]).toEqual([`${root}/alerts`, 'fire'])
      const [a] = await consumeN(ch, queue, 1, { noAck: true })
      expect(a!.content.toString()).toBe('fire')
      expect(a!.properties.contentType).toBe('text/plain')
      expect(a!.properties.headers).toEqual({ k: 'v' })
    } finally {
      await endAll(mqttClient)
    }
  })

  test('HTTP publish -> SSE subscriber: the web talks to the web through the broker', async () => {
    const root = uniqueId('h2s')
    const sse = new SseClient(`${broker.httpUrl}/api/sse/%2F?filter=${root}/chat`)
    try {
      await sse.opened()
      await post(`/api/topics/%2F/${root}/chat`, 'hello', { 'Content-Type': 'text/plain' })
      const [m] = await sse.received(1)
      expect(m!.data).toMatchObject({ topic: `${root}/chat`, payload: 'hello', properties: { content_type: 'text/plain' } })
    } finally {
      sse.close()
    }
  })
})
