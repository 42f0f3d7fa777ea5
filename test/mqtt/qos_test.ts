import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import {
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  RawMqtt,
  ackPacket,
  decodeAckReason,
  decodePacketId,
  decodePublish,
  publishPacket,
} from '../helpers/raw_mqtt.ts'

// QoS 0, 1 and 2 in both directions, and QoS 2's exactly-once guarantee.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

const QOS = [0, 1, 2] as const

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} QoS matrix`, () => {
    let publisher: TestClient
    let subscriber: TestClient

    beforeAll(async () => {
      publisher = await connectMqtt(broker.mqttUrl, { version })
      subscriber = await connectMqtt(broker.mqttUrl, { version })
    })

    afterAll(async () => {
      await endAll(publisher, subscriber)
    })

    for (const pubQos of QOS) {
      for (const subQos of QOS) {
        const delivered = Math.min(pubQos, subQos) as 0 | 1 | 2
        test(`PUBLISH QoS ${pubQos} to a QoS ${subQos} subscription is granted ${subQos} and delivered at QoS ${delivered} [MQTT-3.8.4-6]`, async () => {
          const topic = `qos/${uniqueId(`p${pubQos}s${subQos}`)}`
          const [grant] = await subscriber.subscribe(topic, { qos: subQos })
          // The server supports QoS 2, so it grants what was asked [MQTT-3.9.3].
          expect(grant?.qos).toBe(subQos)
          // For QoS 1/2 this resolves on PUBACK / PUBCOMP: the broker took responsibility.
          await publisher.publish(topic, `q${pubQos}`, { qos: pubQos })
          const [m] = await subscriber.waitMessages(1, topic)
          expect(m?.text).toBe(`q${pubQos}`)
          expect(m?.packet.qos).toBe(delivered)
        })
      }
    }
  })

  describe(`MQTT ${name} QoS flows on the wire`, () => {
    test('inbound QoS 1: PUBACK carries the PUBLISH packet id [MQTT-4.3.2-2]', async () => {
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect({ clientId: uniqueId('q1in') })
        raw.write(publishPacket({ version, topic: `q1in/${uniqueId('t')}`, qos: 1, packetId: 4242, payload: 'x' }))
        const puback = await raw.expect(PUBACK)
        expect(decodePacketId(puback)).toBe(4242)
        // v5: 0x00 Success or 0x10 No matching subscribers, both success codes [MQTT-3.4.2.1].
        if (version === 5) expect([0x00, 0x10]).toContain(decodeAckReason(puback))
      } finally {
        raw.destroy()
      }
    })

    test('outbound QoS 2: PUBLISH, PUBREC from the client, PUBREL (flags 0b0010) from the server, PUBCOMP [MQTT-4.3.3-1]', async () => {
      const topic = `q2out/${uniqueId('t')}`
      const raw = await RawMqtt.open(broker.mqttPort, version)
      const publisher = await connectMqtt(broker.mqttUrl, { version })
      try {
        await raw.connect({ clientId: uniqueId('q2out') })
        await raw.subscribe(1, [{ filter: topic, qos: 2 }])
        await publisher.publish(topic, 'exactly once', { qos: 2 })
        const pub = decodePublish(await raw.expect(PUBLISH), version)
        expect(pub.qos).toBe(2)
        expect(pub.dup).toBe(false)
        expect(pub.payload.toString()).toBe('exactly once')
        // A non-zero packet identifier [MQTT-2.3.1-1].
        expect(pub.packetId ?? 0).toBeGreaterThan(0)
        raw.write(ackPacket(PUBREC, pub.packetId!))
        const pubrel = await raw.expect(PUBREL)
        expect(pubrel.flags).toBe(0x02)
        expect(decodePacketId(pubrel)).toBe(pub.packetId!)
        raw.write(ackPacket(PUBCOMP, pub.packetId!))
        // The flow is complete: nothing is resent once PUBCOMP was sent.
        await raw.ping()
        expect(raw.queued).toHaveLength(0)
      } finally {
        raw.destroy()
        await publisher.end()
      }
    })

    test('inbound QoS 2: a duplicate PUBLISH (DUP) before PUBREL is acknowledged again but delivered once [MQTT-4.3.3-2]', async () => {
      const topic = `q2in/${uniqueId('t')}`
      // QoS 1 subscription: every copy arrives in publish order, so the marker is a barrier.
      const subscriber = await connectMqtt(broker.mqttUrl, { version })
      await subscriber.subscribe(topic, { qos: 1 })
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect({ clientId: uniqueId('q2in') })
        raw.write(publishPacket({ version, topic, qos: 2, packetId: 7, payload: 'once' }))
        expect(decodePacketId(await raw.expect(PUBREC))).toBe(7)
        raw.write(publishPacket({ version, topic, qos: 2, packetId: 7, payload: 'once', dup: true }))
        expect(decodePacketId(await raw.expect(PUBREC))).toBe(7)
        raw.write(ackPacket(PUBREL, 7))
        expect(decodePacketId(await raw.expect(PUBCOMP))).toBe(7)
        // After PUBCOMP the id is free: the same id now starts a NEW message [MQTT-4.3.3-2].
        raw.write(publishPacket({ version, topic, qos: 2, packetId: 7, payload: 'again' }))
        expect(decodePacketId(await raw.expect(PUBREC))).toBe(7)
        raw.write(ackPacket(PUBREL, 7))
        expect(decodePacketId(await raw.expect(PUBCOMP))).toBe(7)
        raw.write(publishPacket({ version, topic, qos: 1, packetId: 8, payload: 'marker' }))
        await raw.expect(PUBACK)
        await subscriber.waitText('marker')
        expect(subscriber.on(topic).map((m) => m.text)).toEqual(['once', 'again', 'marker'])
      } finally {
        raw.destroy()
        await subscriber.end()
      }
    })

    test('inbound QoS 2: PUBREL for an unknown packet id still gets PUBCOMP [MQTT-4.3.3-2]', async () => {
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect({ clientId: uniqueId('q2rel') })
        raw.write(ackPacket(PUBREL, 999))
        const pubcomp = await raw.expect(PUBCOMP)
        expect(decodePacketId(pubcomp)).toBe(999)
        // v5 says which: 0x92 Packet Identifier not found.
        if (version === 5) expect([0x00, 0x92]).toContain(decodeAckReason(pubcomp))
      } finally {
        raw.destroy()
      }
    })

    test('outbound QoS 1: many messages in flight, each PUBACKed by mqtt.js, arrive once and in order', async () => {
      const topic = `q1order/${uniqueId('t')}`
      const subscriber = await connectMqtt(broker.mqttUrl, { version })
      const publisher = await connectMqtt(broker.mqttUrl, { version })
      try {
        await subscriber.subscribe(topic, { qos: 1 })
        await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish(topic, `m${i}`, { qos: 1 })))
        const got = await subscriber.waitMessages(200, topic)
        expect(got.map((m) => m.text)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`))
      } finally {
        await endAll(subscriber, publisher)
      }
    })
  })
}
