import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, passTime, uniqueId } from '../helpers/mqtt.ts'

// MQTT 5 PUBLISH properties travel from publisher to subscriber unaltered (except the Message
// Expiry Interval, which counts down while the message waits).
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

describe('MQTT 5.0 PUBLISH properties', () => {
  for (const qos of [0, 1, 2] as const) {
    test(`QoS ${qos}: user properties, content type, payload format, response topic and correlation data round-trip unaltered`, async () => {
      const topic = `props/${uniqueId('t')}`
      const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
      const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
      try {
        await sub.subscribe(topic, { qos })
        await pub.publish(topic, 'héllo', {
          qos,
          properties: {
            payloadFormatIndicator: true,
            contentType: 'text/plain; charset=utf-8',
            responseTopic: `reply/${topic}`,
            correlationData: Buffer.from([0, 1, 2, 0xfe, 0xff]),
            // Duplicate keys are allowed and their order must be kept [MQTT-3.3.2-18].
            userProperties: { device: 'sensor-7', tag: ['a', 'b', 'c'], 'ünïcode': '✓' },
          },
        })
        const [m] = await sub.waitMessages(1, topic)
        const p = m?.packet.properties ?? {}
        // [MQTT-3.3.2-4] payload format, [MQTT-3.3.2-20] content type, [MQTT-3.3.2-15] response
        // topic, [MQTT-3.3.2-16] correlation data, [MQTT-3.3.2-17] user properties.
        expect(p.payloadFormatIndicator).toBe(true)
        expect(p.contentType).toBe('text/plain; charset=utf-8')
        expect(p.responseTopic).toBe(`reply/${topic}`)
        expect(Buffer.from(p.correlationData ?? [])).toEqual(Buffer.from([0, 1, 2, 0xfe, 0xff]))
        expect(p.userProperties).toEqual({ device: 'sensor-7', tag: ['a', 'b', 'c'], 'ünïcode': '✓' })
        expect(m?.text).toBe('héllo')
      } finally {
        await endAll(pub, sub)
      }
    })
  }

  test('a message without properties arrives without them (none are invented)', async () => {
    const topic = `props/${uniqueId('none')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'plain', { qos: 1 })
      const [m] = await sub.waitMessages(1, topic)
      const p = m?.packet.properties ?? {}
      expect(p.userProperties).toBeUndefined()
      expect(p.contentType).toBeUndefined()
      expect(p.responseTopic).toBeUndefined()
      expect(p.correlationData).toBeUndefined()
      expect(p.messageExpiryInterval).toBeUndefined()
      expect(p.payloadFormatIndicator).toBeFalsy()
    } finally {
      await endAll(pub, sub)
    }
  })

  test('Message Expiry Interval is forwarded, never larger than published [MQTT-3.3.2-6]', async () => {
    const topic = `props/${uniqueId('mei')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'fresh', { qos: 1, properties: { messageExpiryInterval: 60 } })
      const [m] = await sub.waitMessages(1, topic)
      const mei = m?.packet.properties?.messageExpiryInterval ?? -1
      expect(mei).toBeGreaterThanOrEqual(59)
      expect(mei).toBeLessThanOrEqual(60)
    } finally {
      await endAll(pub, sub)
    }
  })

  test('an expired message is not delivered to a returning session, and the rest count down [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
    const clientId = uniqueId('expiring')
    const topic = `props/${uniqueId('exp')}`
    const away = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } })
    await away.subscribe(topic, { qos: 1 })
    await away.end()
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'short-lived', { qos: 1, properties: { messageExpiryInterval: 1 } })
      await pub.publish(topic, 'long-lived', { qos: 1, properties: { messageExpiryInterval: 30 } })
      await pub.publish(topic, 'immortal', { qos: 1 })
      // Expiry is a duration: let 1 s (plus slack) pass while the session is away.
      await passTime(2100)
      const back = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } })
      try {
        await back.waitText('immortal')
        expect(back.on(topic).map((m) => m.text)).toEqual(['long-lived', 'immortal'])
        const long = back.on(topic)[0]!
        // Waited about 2 s: the interval sent on is the received value minus the time waiting.
        expect(long.packet.properties?.messageExpiryInterval ?? 99).toBeLessThanOrEqual(29)
        expect(back.on(topic)[1]?.packet.properties?.messageExpiryInterval).toBeUndefined()
      } finally {
        await back.end()
      }
    } finally {
      await pub.end()
      const cleanup = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: true })
      await cleanup.end()
    }
  })

  test('a v3.1.1 subscriber gets the payload of a message published with v5 properties', async () => {
    const topic = `props/${uniqueId('v4sub')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 4 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'for an old device', {
        qos: 1,
        properties: { contentType: 'text/plain', userProperties: { a: 'b' }, correlationData: Buffer.from('c') },
      })
      const [m] = await sub.waitMessages(1, topic)
      expect(m?.text).toBe('for an old device')
      expect(m?.packet.properties).toBeUndefined()
    } finally {
      await endAll(pub, sub)
    }
  })

  test('a v5 subscriber gets a message from a v3.1.1 publisher without properties', async () => {
    const topic = `props/${uniqueId('v4pub')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 4 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'from an old device', { qos: 1 })
      const [m] = await sub.waitMessages(1, topic)
      expect(m?.text).toBe('from an old device')
      expect(m?.packet.properties?.userProperties).toBeUndefined()
    } finally {
      await endAll(pub, sub)
    }
  })
})
