import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, uniqueId, type MqttVersion } from '../helpers/mqtt.ts'
import { PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, RawMqtt, ackPacket, decodePacketId, decodePublish, props, prop, PROP } from '../helpers/raw_mqtt.ts'

// A persistent session's reconnect resends what was unacknowledged with the ORIGINAL packet ids
// [MQTT-4.4.0-1]: PUBREL for a QoS 2 exchange whose PUBREC had come, a PUBLISH with DUP for one
// that had not been acknowledged at all. A client that keeps QoS 2 state by packet id (as
// mqtt.js does: it hands a QoS 2 message to the application at PUBREL) depends on it.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

function persistentConnect(version: MqttVersion, clientId: string) {
  return version === 5 ? { version, clientId, clean: false, properties: props(prop(PROP.sessionExpiryInterval, 300)) } : { version, clientId, clean: false }
}

for (const version of VERSIONS) {
  describe(`MQTT ${version === 5 ? '5.0' : '3.1.1'}: resending on reconnect`, () => {
    test('PUBREL and unacknowledged PUBLISHes come again with their original packet ids [MQTT-4.4.0-1]', async () => {
      const clientId = uniqueId('resend')
      const topic = `resend/${uniqueId('t')}`
      const publisher = await connectMqtt(broker.mqttUrl, { version })
      let raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        expect((await raw.connect(persistentConnect(version, clientId))).sessionPresent).toBe(false)
        await raw.subscribe(1, [{ filter: topic, qos: 2 }])
        await publisher.publish(topic, 'two', { qos: 2 })
        await publisher.publish(topic, 'one', { qos: 1 })
        await publisher.publish(topic, 'two again', { qos: 2 })
        const first = decodePublish(await raw.expect(PUBLISH), version)
        const second = decodePublish(await raw.expect(PUBLISH), version)
        const third = decodePublish(await raw.expect(PUBLISH), version)
        expect([first.payload.toString(), second.payload.toString(), third.payload.toString()]).toEqual(['two', 'one', 'two again'])
        // PUBREC for the first only; the connection drops before PUBCOMP and before any other ack.
        raw.write(ackPacket(PUBREC, first.packetId!))
        expect(decodePacketId(await raw.expect(PUBREL))).toBe(first.packetId!)
        raw.destroy()
        await raw.waitClosed()

        raw = await RawMqtt.open(broker.mqttPort, version)
        expect((await raw.connect(persistentConnect(version, clientId))).sessionPresent).toBe(true)
        // First PUBREL for the exchange that had reached it, then the other two, DUP, same ids.
        expect(decodePacketId(await raw.expect(PUBREL))).toBe(first.packetId!)
        const again = [decodePublish(await raw.expect(PUBLISH), version), decodePublish(await raw.expect(PUBLISH), version)]
        expect(again.map((p) => [p.payload.toString(), p.packetId, p.qos, p.dup])).toEqual([
          ['one', second.packetId, 1, true],
          ['two again', third.packetId, 2, true],
        ])
        raw.write(ackPacket(PUBCOMP, first.packetId!))
        raw.write(ackPacket(PUBACK, second.packetId!))
        raw.write(ackPacket(PUBREC, third.packetId!))
        expect(decodePacketId(await raw.expect(PUBREL))).toBe(third.packetId!)
        raw.write(ackPacket(PUBCOMP, third.packetId!))
        await raw.ping()
        raw.destroy()
        await raw.waitClosed()

        // Everything was acknowledged: the next reconnect resends nothing, and new messages flow.
        raw = await RawMqtt.open(broker.mqttPort, version)
        expect((await raw.connect(persistentConnect(version, clientId))).sessionPresent).toBe(true)
        await publisher.publish(topic, 'fresh', { qos: 1 })
        const fresh = decodePublish(await raw.expect(PUBLISH), version)
        expect([fresh.payload.toString(), fresh.dup]).toEqual(['fresh', false])
        raw.write(ackPacket(PUBACK, fresh.packetId!))
        await raw.ping()
        expect(raw.queued).toHaveLength(0)
      } finally {
        raw.destroy()
        await publisher.end()
        const end = await connectMqtt(broker.mqttUrl, { version, clientId, clean: true })
        await end.end()
      }
    })

    test('a PUBREL not completed is sent again on every reconnect until PUBCOMP, and the message never again', async () => {
      const clientId = uniqueId('pubrel')
      const topic = `resend/${uniqueId('t')}`
      const publisher = await connectMqtt(broker.mqttUrl, { version })
      let raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect(persistentConnect(version, clientId))
        await raw.subscribe(1, [{ filter: topic, qos: 2 }])
        await publisher.publish(topic, 'held at PUBREC', { qos: 2 })
        const pub = decodePublish(await raw.expect(PUBLISH), version)
        raw.write(ackPacket(PUBREC, pub.packetId!))
        await raw.expect(PUBREL)
        for (let reconnect = 0; reconnect < 2; reconnect++) {
          raw.destroy()
          await raw.waitClosed()
          raw = await RawMqtt.open(broker.mqttPort, version)
          await raw.connect(persistentConnect(version, clientId))
          expect(decodePacketId(await raw.expect(PUBREL))).toBe(pub.packetId!)
        }
        raw.write(ackPacket(PUBCOMP, pub.packetId!))
        await raw.ping()
        expect(raw.queued).toHaveLength(0)
        raw.destroy()
        await raw.waitClosed()
        raw = await RawMqtt.open(broker.mqttPort, version)
        await raw.connect(persistentConnect(version, clientId))
        await raw.ping()
        expect(raw.queued).toHaveLength(0)
      } finally {
        raw.destroy()
        await publisher.end()
        const end = await connectMqtt(broker.mqttUrl, { version, clientId, clean: true })
        await end.end()
      }
    })
  })
}
