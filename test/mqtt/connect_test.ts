import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import { PINGRESP, RC, RawMqtt, pingreqPacket } from '../helpers/raw_mqtt.ts'

// CONNECT/CONNACK, client identifiers, session takeover and the v5 CONNACK capabilities.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** A QoS 1 publish/subscribe round trip on one client: proves the connection is fully usable. */
async function roundTrip(c: TestClient): Promise<void> {
  const topic = `rt/${uniqueId('t')}`
  await c.subscribe(topic, { qos: 1 })
  await c.publish(topic, 'ping', { qos: 1 })
  await c.waitMessages(1, topic)
}

describe('MQTT 3.1 (protocol level 3, "MQIsdp")', () => {
  test('CONNECT gets CONNACK 0 and the client can publish and subscribe', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 3 })
    try {
      expect(c.connack.returnCode).toBe(0)
      await roundTrip(c)
    } finally {
      await c.end()
    }
  })
})

for (const version of VERSIONS) {
  const code = (c: TestClient) => (version === 5 ? c.connack.reasonCode : c.connack.returnCode)

  describe(`MQTT ${version === 5 ? '5.0' : '3.1.1'} CONNECT`, () => {
    test('CONNECT with clean session gets CONNACK success with session present 0 [MQTT-3.2.2-1]', async () => {
      const c = await connectMqtt(broker.mqttUrl, { version, clean: true })
      try {
        expect(code(c)).toBe(0)
        expect(c.connack.sessionPresent).toBe(false)
        await roundTrip(c)
      } finally {
        await c.end()
      }
    })

    test('PINGREQ gets PINGRESP [MQTT-3.12.4-1]', async () => {
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        const connack = await raw.connect({ clientId: uniqueId('ping') })
        expect(connack.code).toBe(0)
        raw.write(pingreqPacket())
        await raw.expect(PINGRESP)
        raw.write(pingreqPacket())
        await raw.expect(PINGRESP)
      } finally {
        raw.destroy()
      }
    })

    test(`takeover: a second CONNECT with the same client id disconnects the first ${version === 5 ? '[MQTT-3.1.4-3]' : '[MQTT-3.1.4-2]'}`, async () => {
      const clientId = uniqueId('takeover')
      const first = await connectMqtt(broker.mqttUrl, { version, clientId })
      const second = await connectMqtt(broker.mqttUrl, { version, clientId })
      try {
        if (version === 5) {
          // v5: the server tells the old client why, with reason 0x8E Session taken over.
          const disconnect = await first.waitDisconnect()
          expect(disconnect.reasonCode).toBe(RC.sessionTakenOver)
        }
        await first.waitClosed()
        expect(second.closed).toBe(false)
        await roundTrip(second)
      } finally {
        await endAll(first, second)
      }
    })

    test('a zero-length client id with clean session is accepted and two such clients coexist [MQTT-3.1.3-6]', async () => {
      const a = await connectMqtt(broker.mqttUrl, { version, clientId: '', clean: true })
      const b = await connectMqtt(broker.mqttUrl, { version, clientId: '', clean: true })
      try {
        expect(code(a)).toBe(0)
        expect(code(b)).toBe(0)
        if (version === 5) {
          // v5: the server MUST return the id it assigned [MQTT-3.2.2-16], unique per client.
          const idA = a.connack.properties?.assignedClientIdentifier
          const idB = b.connack.properties?.assignedClientIdentifier
          expect(typeof idA).toBe('string')
          expect(idA?.length).toBeGreaterThan(0)
          expect(idB).not.toBe(idA)
        }
        // Neither took the other over: both still work.
        await roundTrip(a)
        await roundTrip(b)
        expect(a.closed).toBe(false)
      } finally {
        await endAll(a, b)
      }
    })
  })
}

describe('MQTT 3.1.1 client identifier rules', () => {
  test('a zero-length client id with clean session 0 gets CONNACK 0x02 identifier rejected, then close [MQTT-3.1.3-8]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 4)
    try {
      const connack = await raw.connect({ clientId: '', clean: false })
      expect(connack.code).toBe(0x02)
      // A refusal never has session present set [MQTT-3.2.2-4].
      expect(connack.sessionPresent).toBe(false)
      await raw.waitClosed()
    } finally {
      raw.destroy()
    }
  })
})

describe('MQTT 5.0 CONNACK', () => {
  test('CONNACK advertises topic aliases, a maximum packet size and no disabled features', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      const p = c.connack.properties ?? {}
      // Topic aliases are supported both ways, so the server offers some [MQTT-3.2.2-17 ff].
      expect(p.topicAliasMaximum ?? 0).toBeGreaterThan(0)
      // The server enforces a packet size limit (16 MiB by default), so it must say so.
      expect(p.maximumPacketSize).toBe(16 * 1024 * 1024)
      // QoS 2, retain, wildcards, subscription ids and shared subscriptions are all available:
      // absent means available; a 0/false would mean the feature is off.
      expect(p.maximumQoS).toBeUndefined()
      expect(p.retainAvailable).not.toBe(false)
      expect(p.wildcardSubscriptionAvailable).not.toBe(false)
      expect(p.subscriptionIdentifiersAvailable).not.toBe(false)
      expect(p.sharedSubscriptionAvailable).not.toBe(false)
    } finally {
      await c.end()
    }
  })

  test('Request Response Information 1 gets a Response Information string in CONNACK', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 5, properties: { requestResponseInformation: true } })
    try {
      const info = c.connack.properties?.responseInformation
      expect(typeof info).toBe('string')
      expect(info?.length).toBeGreaterThan(0)
    } finally {
      await c.end()
    }
  })

  test('without Request Response Information the server sends none [MQTT-3.1.2-28]', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      expect(c.connack.properties?.responseInformation).toBeUndefined()
    } finally {
      await c.end()
    }
  })

  test('the Response Information is a topic prefix the client can use for replies', async () => {
    const requester = await connectMqtt(broker.mqttUrl, { version: 5, properties: { requestResponseInformation: true } })
    const responder = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      const prefix = requester.connack.properties?.responseInformation ?? ''
      const replyTopic = `${prefix.replace(/\/$/, '')}/${uniqueId('reply')}`
      await requester.subscribe(replyTopic, { qos: 1 })
      await responder.publish(replyTopic, 'the answer', { qos: 1 })
      const [m] = await requester.waitMessages(1, replyTopic)
      expect(m?.text).toBe('the answer')
    } finally {
      await endAll(requester, responder)
    }
  })
})

describe('MQTT 5.0 Server Keep Alive (mqttMaxKeepAlive 10)', () => {
  let capped: TestBroker

  beforeAll(async () => {
    capped = await startBroker({ mqttMaxKeepAlive: 10 })
  })

  afterAll(async () => {
    await capped?.stop()
  })

  test('a keepalive above the maximum is replaced, and CONNACK says so with Server Keep Alive [MQTT-3.2.2-21]', async () => {
    const c = await connectMqtt(capped.mqttUrl, { version: 5, keepalive: 60 })
    try {
      expect(c.connack.properties?.serverKeepAlive).toBe(10)
    } finally {
      await c.end()
    }
  })

  test('a keepalive within the maximum is kept (no Server Keep Alive, or the same value)', async () => {
    const c = await connectMqtt(capped.mqttUrl, { version: 5, keepalive: 5 })
    try {
      const ska = c.connack.properties?.serverKeepAlive
      if (ska !== undefined) expect(ska).toBe(5)
    } finally {
      await c.end()
    }
  })
})
