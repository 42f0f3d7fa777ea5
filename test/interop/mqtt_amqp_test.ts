import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, closeQuietly, consumeN, within } from '../helpers/amqp.ts'
import { VERSIONS, connectMqtt, endAll, fence, uniqueId } from '../helpers/mqtt.ts'

// MQTT and AMQP 0-9-1 meet in the core: MQTT topics are routing keys on amq.topic, mapped as
// RabbitMQ maps them ('/' <-> '.', '+' <-> '*', '#' <-> '#'), and MQTT 5 properties map onto AMQP
// basic properties as RabbitMQ's mc_mqtt does.
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

/** An exclusive AMQP queue bound to amq.topic with `bindingKey`. */
async function boundQueue(bindingKey: string): Promise<string> {
  const { queue } = await ch.assertQueue('', { exclusive: true })
  await ch.bindQueue(queue, 'amq.topic', bindingKey)
  return queue
}

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`AMQP -> MQTT ${name}`, () => {
    test('an AMQP publish to amq.topic with routing key a.b reaches MQTT subscribers of a/b, a/+ and a/#', async () => {
      const root = uniqueId('a2m')
      const exact = await connectMqtt(broker.mqttUrl, { version })
      const plus = await connectMqtt(broker.mqttUrl, { version })
      const hash = await connectMqtt(broker.mqttUrl, { version })
      try {
        await exact.subscribe(`${root}/b`, { qos: 1 })
        await plus.subscribe(`${root}/+`, { qos: 1 })
        await hash.subscribe(`${root}/#`, { qos: 1 })
        ch.publish('amq.topic', `${root}.b`, Buffer.from('from amqp'))
        for (const c of [exact, plus, hash]) {
          const [m] = await c.waitMessages(1, `${root}/b`)
          expect(m?.text).toBe('from amqp')
        }
      } finally {
        await endAll(exact, plus, hash)
      }
    })

    test('AMQP delivery mode maps to QoS: persistent -> QoS 1, transient -> QoS 0 (capped by the subscription)', async () => {
      const topic = `a2m/${uniqueId('qos')}`
      const q1 = await connectMqtt(broker.mqttUrl, { version })
      const q0 = await connectMqtt(broker.mqttUrl, { version })
      try {
        await q1.subscribe(topic, { qos: 1 })
        await q0.subscribe(topic, { qos: 0 })
        ch.publish('amq.topic', topic.replaceAll('/', '.'), Buffer.from('persistent'), { deliveryMode: 2 })
        ch.publish('amq.topic', topic.replaceAll('/', '.'), Buffer.from('transient'), { deliveryMode: 1 })
        const got = await q1.waitMessages(2, topic)
        expect(got.map((m) => [m.text, m.packet.qos])).toEqual([
          ['persistent', 1],
          ['transient', 0],
        ])
        const got0 = await q0.waitMessages(2, topic)
        expect(got0.map((m) => m.packet.qos)).toEqual([0, 0])
      } finally {
        await endAll(q1, q0)
      }
    })

    test('an AMQP publish to another exchange does not reach MQTT subscribers', async () => {
      const topic = `a2m/${uniqueId('other')}`
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(topic, { qos: 1 })
        const x = uniqueId('x')
        await ch.assertExchange(x, 'topic', { autoDelete: true })
        ch.publish(x, topic.replaceAll('/', '.'), Buffer.from('elsewhere'))
        ch.publish('amq.topic', topic.replaceAll('/', '.'), Buffer.from('marker'), { deliveryMode: 2 })
        await sub.waitText('marker')
        expect(sub.on(topic).map((m) => m.text)).toEqual(['marker'])
      } finally {
        await sub.end()
      }
    })
  })

  describe(`MQTT ${name} -> AMQP`, () => {
    test('an MQTT publish to x/y reaches AMQP queues bound to amq.topic with x.y, x.* and x.#', async () => {
      const root = uniqueId('m2a')
      const exact = await boundQueue(`${root}.y`)
      const star = await boundQueue(`${root}.*`)
      const hash = await boundQueue(`${root}.#`)
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(`${root}/y`, 'from mqtt', { qos: 1 })
        for (const q of [exact, star, hash]) {
          const [m] = await consumeN(ch, q, 1, { noAck: true })
          expect(m?.content.toString()).toBe('from mqtt')
          expect(m?.fields.exchange).toBe('amq.topic')
          expect(m?.fields.routingKey).toBe(`${root}.y`)
        }
      } finally {
        await pub.end()
      }
    })

    test('QoS maps to delivery mode: QoS 0 -> 1 (transient), QoS 1 and 2 -> 2 (persistent)', async () => {
      const topic = `m2a/${uniqueId('dm')}`
      const q = await boundQueue(topic.replaceAll('/', '.'))
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'q0', { qos: 0 })
        await pub.publish(topic, 'q1', { qos: 1 })
        await pub.publish(topic, 'q2', { qos: 2 })
        const got = await consumeN(ch, q, 3, { noAck: true })
        expect(got.map((m) => [m.content.toString(), m.properties.deliveryMode])).toEqual([
          ['q0', 1],
          ['q1', 2],
          ['q2', 2],
        ])
      } finally {
        await pub.end()
      }
    })

    test('QoS 1 MQTT -> durable AMQP queue with manual acks loses nothing (1000 messages)', async () => {
      const topic = `m2a/${uniqueId('durable')}`
      const queue = uniqueId('durable-q')
      await ch.assertQueue(queue, { durable: true })
      await ch.bindQueue(queue, 'amq.topic', topic.replaceAll('/', '.'))
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const consumer = await conn.createChannel()
      try {
        const N = 1000
        // PUBACK means the broker took responsibility: every acked message must be consumable.
        await Promise.all(Array.from({ length: N }, (_, i) => pub.publish(topic, `m${i}`, { qos: 1 })))
        await consumer.prefetch(50)
        const seen = new Set<string>()
        let done: () => void = () => {}
        const all = new Promise<void>((resolve) => {
          done = resolve
        })
        await consumer.consume(queue, (m: ConsumeMessage | null) => {
          if (m === null) return
          seen.add(m.content.toString())
          consumer.ack(m)
          if (seen.size === N) done()
        })
        await within(all, 10_000, `${N} messages from ${queue} (got ${seen.size})`)
        expect(seen.size).toBe(N)
        await consumer.close()
        const { messageCount } = await ch.checkQueue(queue)
        expect(messageCount).toBe(0)
      } finally {
        await pub.end()
        await ch.deleteQueue(queue)
      }
    })
  })
}

describe('MQTT 5.0 -> AMQP property mapping (as RabbitMQ mc_mqtt)', () => {
  test('content type, correlation data, response topic, user properties and message expiry', async () => {
    const topic = `map/${uniqueId('m2a')}`
    const q = await boundQueue(topic.replaceAll('/', '.'))
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'request', {
        qos: 1,
        properties: {
          contentType: 'text/plain',
          correlationData: Buffer.from('corr-42'),
          responseTopic: 'reply/to/me',
          userProperties: { key: 'val', 'rabbit🐇': 'carrot🥕' },
          messageExpiryInterval: 60,
        },
      })
      const [m] = await consumeN(ch, q, 1, { noAck: true })
      expect(m?.properties.contentType).toBe('text/plain')
      // Correlation data that is a valid shortstr becomes correlation_id.
      expect(m?.properties.correlationId).toBe('corr-42')
      // The response topic travels as header x-reply-to-topic, in AMQP routing-key form.
      expect(m?.properties.headers?.['x-reply-to-topic']).toBe('reply.to.me')
      expect(m?.properties.headers?.key).toBe('val')
      expect(m?.properties.headers?.['rabbit🐇']).toBe('carrot🥕')
      // Message Expiry Interval (seconds) becomes expiration (milliseconds).
      expect(Number(m?.properties.expiration)).toBeGreaterThan(59_000)
      expect(Number(m?.properties.expiration)).toBeLessThanOrEqual(60_000)
      expect(m?.properties.deliveryMode).toBe(2)
    } finally {
      await pub.end()
    }
  })

  test('correlation data that is not a valid shortstr travels as header x-correlation-id', async () => {
    const topic = `map/${uniqueId('corrbin')}`
    const q = await boundQueue(topic.replaceAll('/', '.'))
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      // A NUL byte makes it an invalid shortstr (RabbitMQ mc_util:is_valid_shortstr).
      const corr = Buffer.from([0x61, 0x00, 0x62])
      await pub.publish(topic, 'binary corr', { qos: 1, properties: { correlationData: corr } })
      const [m] = await consumeN(ch, q, 1, { noAck: true })
      expect(m?.properties.correlationId).toBeUndefined()
      const header = m?.properties.headers?.['x-correlation-id'] as string | Buffer | undefined
      expect(Buffer.from(header ?? '')).toEqual(corr)
    } finally {
      await pub.end()
    }
  })

  test('a message without properties arrives with no headers and no invented properties', async () => {
    const topic = `map/${uniqueId('bare')}`
    const q = await boundQueue(topic.replaceAll('/', '.'))
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'bare', { qos: 0 })
      const [m] = await consumeN(ch, q, 1, { noAck: true })
      expect(m?.properties.contentType).toBeUndefined()
      expect(m?.properties.correlationId).toBeUndefined()
      expect(m?.properties.expiration).toBeUndefined()
      expect(Object.keys(m?.properties.headers ?? {}).filter((k) => k !== 'x-mqtt-publish-qos' && k !== 'x-mqtt-dup')).toEqual([])
    } finally {
      await pub.end()
    }
  })
})

describe('AMQP -> MQTT 5.0 property mapping (as RabbitMQ mc_mqtt)', () => {
  test('content type, correlation id, x-reply-to-topic, headers and expiration', async () => {
    const topic = `map/${uniqueId('a2m')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      ch.publish('amq.topic', topic.replaceAll('/', '.'), Buffer.from('{"my":"reply"}'), {
        contentType: 'application/json',
        correlationId: 'corr-7',
        deliveryMode: 2,
        expiration: '30000',
        headers: { 'x-reply-to-topic': 'response.topic', s: 'str', n: 4, t: true, bin: Buffer.from([0, 255]) },
      })
      const [m] = await sub.waitMessages(1, topic)
      const p = m?.packet.properties ?? {}
      expect(m?.text).toBe('{"my":"reply"}')
      expect(m?.packet.qos).toBe(1)
      expect(p.contentType).toBe('application/json')
      expect(Buffer.from(p.correlationData ?? []).toString()).toBe('corr-7')
      // x-reply-to-topic becomes the Response Topic, back in MQTT form, and is not a user property.
      expect(p.responseTopic).toBe('response/topic')
      // Headers become user properties, values as strings; binary values are dropped.
      expect(p.userProperties).toEqual({ s: 'str', n: '4', t: 'true' })
      // expiration (ms) becomes Message Expiry Interval (s).
      expect(p.messageExpiryInterval ?? 0).toBeGreaterThanOrEqual(29)
      expect(p.messageExpiryInterval ?? 0).toBeLessThanOrEqual(30)
    } finally {
      await sub.end()
    }
  })

  test('a request/response round trip: MQTT 5 requester, AMQP responder replying to x-reply-to-topic', async () => {
    const requestTopic = `rpc/${uniqueId('req')}`
    const responseTopic = `rpc/${uniqueId('resp')}`
    const q = await boundQueue(requestTopic.replaceAll('/', '.'))
    const requester = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await requester.subscribe(responseTopic, { qos: 1 })
      await requester.publish(requestTopic, 'what time is it', {
        qos: 1,
        properties: { responseTopic, correlationData: Buffer.from('req-1') },
      })
      const [req] = await consumeN(ch, q, 1, { noAck: true })
      const replyTo = String(req?.properties.headers?.['x-reply-to-topic'])
      ch.publish('amq.topic', replyTo, Buffer.from('noon'), { correlationId: req?.properties.correlationId, deliveryMode: 2 })
      const [resp] = await requester.waitMessages(1, responseTopic)
      expect(resp?.text).toBe('noon')
      expect(Buffer.from(resp?.packet.properties?.correlationData ?? []).toString()).toBe('req-1')
    } finally {
      await requester.end()
    }
  })
})

describe('topic mapping edge cases', () => {
  test("RabbitMQ's lossy mapping (mqttTopicDotEscaping false): an MQTT topic with a dot becomes extra levels", async () => {
    const b = await startBroker({ mqttTopicDotEscaping: false })
    const root = uniqueId('dot')
    const levels = await connectMqtt(b.mqttUrl, { version: 5 })
    const pub = await connectMqtt(b.mqttUrl, { version: 5 })
    try {
      await levels.subscribe(`${root}/x/y`, { qos: 1 })
      // 'root/x.y' -> routing key 'root.x.y' -> MQTT 'root/x/y'.
      await pub.publish(`${root}/x.y`, 'dotted', { qos: 1 })
      const [m] = await levels.waitMessages(1, `${root}/x/y`)
      expect(m?.text).toBe('dotted')
    } finally {
      await endAll(levels, pub)
      await b.stop()
    }
  })

  test('dot escaping (mqttTopicDotEscaping, the default): a dotted MQTT topic round-trips exactly and stays one level', async () => {
    const b = await startBroker()
    const root = uniqueId('esc')
    const exact = await connectMqtt(b.mqttUrl, { version: 5 })
    const levels = await connectMqtt(b.mqttUrl, { version: 5 })
    const pub = await connectMqtt(b.mqttUrl, { version: 5 })
    try {
      await exact.subscribe(`${root}/x.y`, { qos: 1 })
      await levels.subscribe(`${root}/x/y`, { qos: 1 })
      await pub.publish(`${root}/x.y`, 'dotted', { qos: 1 })
      const [m] = await exact.waitMessages(1, `${root}/x.y`)
      expect(m?.text).toBe('dotted')
      await fence(pub, [levels], 1)
      expect(levels.on(`${root}/x/y`)).toHaveLength(0)
    } finally {
      await endAll(exact, levels, pub)
      await b.stop()
    }
  })

  test("an MQTT subscription to '#' receives AMQP messages from any amq.topic routing key", async () => {
    const root = uniqueId('all')
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe('#', { qos: 0 })
      ch.publish('amq.topic', `${root}.deep.key.here`, Buffer.from('deep'))
      const m = await sub.waitText('deep')
      expect(m.topic).toBe(`${root}/deep/key/here`)
    } finally {
      await sub.end()
    }
  })
})

describe('configured MQTT exchange (mqttExchange)', () => {
  test('MQTT publishes to and subscribes on the configured topic exchange instead of amq.topic', async () => {
    const b = await startBroker({ mqttExchange: 'iot.topic' })
    const { conn: c2 } = await amqplibConnect(b.amqpUrl)
    const sub = await connectMqtt(b.mqttUrl, { version: 5 })
    const pub = await connectMqtt(b.mqttUrl, { version: 5 })
    try {
      const ch2 = await c2.createChannel()
      await ch2.assertExchange('iot.topic', 'topic', { durable: true })
      const { queue } = await ch2.assertQueue('', { exclusive: true })
      await ch2.bindQueue(queue, 'iot.topic', 'dev.*.temp')
      const { queue: other } = await ch2.assertQueue('', { exclusive: true })
      await ch2.bindQueue(other, 'amq.topic', 'dev.*.temp')
      await pub.publish('dev/7/temp', '21.5', { qos: 1 })
      const [m] = await consumeN(ch2, queue, 1, { noAck: true })
      expect(m?.fields.exchange).toBe('iot.topic')
      expect((await ch2.checkQueue(other)).messageCount).toBe(0)
      await sub.subscribe('dev/+/cmd', { qos: 1 })
      ch2.publish('amq.topic', 'dev.7.cmd', Buffer.from('ignored'), { deliveryMode: 2 })
      ch2.publish('iot.topic', 'dev.7.cmd', Buffer.from('reboot'), { deliveryMode: 2 })
      await sub.waitText('reboot')
      expect(sub.on('dev/7/cmd').map((x) => x.text)).toEqual(['reboot'])
    } finally {
      await endAll(sub, pub)
      await closeQuietly(c2)
      await b.stop()
    }
  })
})
