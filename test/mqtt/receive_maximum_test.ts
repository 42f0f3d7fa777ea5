import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { uniqueId } from '../helpers/mqtt.ts'
import {
  DISCONNECT,
  PROP,
  PUBACK,
  PUBCOMP,
  PUBREC,
  PUBREL,
  RC,
  RawMqtt,
  ackPacket,
  decodeDisconnect,
  decodePacketId,
  publishPacket,
  typeName,
  type Version,
} from '../helpers/raw_mqtt.ts'

// The server's own Receive Maximum (mqttServerReceiveMaximum): announced in the v5 CONNACK, and a
// client with one more QoS 2 message awaiting PUBREL gets DISCONNECT 0x93 (MQTT 5.0 section 4.9).
// Paho interoperability client_test5.py test_flow_control2 sends Receive Maximum + 1 QoS 2
// PUBLISHes in one burst and waits for that DISCONNECT; without it, it waited forever.
let broker: TestBroker
let limited: TestBroker
const MAX = 3

beforeAll(async () => {
  broker = await startBroker()
  limited = await startBroker({ mqttServerReceiveMaximum: MAX })
})

afterAll(async () => {
  await broker?.stop()
  await limited?.stop()
})

async function open(port: number, version: Version): Promise<RawMqtt> {
  const raw = await RawMqtt.open(port, version)
  const connack = await raw.connect({ clientId: uniqueId('rmax') })
  expect(connack.code).toBe(0)
  return raw
}

/** QoS 2 PUBLISH `packetId` and its PUBREC. */
async function publishQos2(raw: RawMqtt, topic: string, packetId: number, dup = false): Promise<void> {
  raw.write(publishPacket({ version: raw.version, topic, qos: 2, packetId, payload: `m${packetId}`, dup }))
  const pubrec = await raw.expect(PUBREC)
  expect(decodePacketId(pubrec)).toBe(packetId)
}

describe('MQTT 5.0 server Receive Maximum', () => {
  test('CONNACK announces the Receive Maximum (default 256)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('rmax') })
      expect(connack.properties?.values.get(PROP.receiveMaximum)).toBe(256)
    } finally {
      raw.destroy()
    }
  })

  test('a burst of Receive Maximum + 1 QoS 2 PUBLISHes without PUBREL: DISCONNECT 0x93 (paho test_flow_control2)', async () => {
    const raw = await RawMqtt.open(limited.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('rmax') })
      expect(connack.properties?.values.get(PROP.receiveMaximum)).toBe(MAX)
      const topic = `rmax/${uniqueId('burst')}`
      const burst = []
      for (let id = 1; id <= MAX + 1; id++) burst.push(publishPacket({ version: 5, topic, qos: 2, packetId: id, payload: 'x' }))
      raw.write(Buffer.concat(burst))
      // PUBRECs for the first ones may come first; then the DISCONNECT, then the close.
      for (let i = 0; i <= MAX; i++) {
        const p = await raw.next()
        if (p.type === DISCONNECT) {
          expect(decodeDisconnect(p)).toBe(RC.receiveMaximumExceeded)
          await raw.waitClosed()
          return
        }
        expect(typeName(p.type)).toBe(typeName(PUBREC))
      }
      throw new Error('no DISCONNECT after the PUBRECs')
    } finally {
      raw.destroy()
    }
  })

  test('PUBREL frees a place; a resent QoS 2 message and QoS 1 do not count', async () => {
    const raw = await open(limited.mqttPort, 5)
    try {
      const topic = `rmax/${uniqueId('slot')}`
      for (let id = 1; id <= MAX; id++) await publishQos2(raw, topic, id)
      // At the limit: a duplicate of an unreleased message is answered again, not counted.
      await publishQos2(raw, topic, 1, true)
      // QoS 1 is acknowledged as usual.
      raw.write(publishPacket({ version: 5, topic, qos: 1, packetId: 100, payload: 'q1' }))
      expect(decodePacketId(await raw.expect(PUBACK))).toBe(100)
      // Releasing one makes room for exactly one more.
      raw.write(ackPacket(PUBREL, 1))
      expect(decodePacketId(await raw.expect(PUBCOMP))).toBe(1)
      await publishQos2(raw, topic, MAX + 1)
      raw.write(publishPacket({ version: 5, topic, qos: 2, packetId: MAX + 2, payload: 'x' }))
      expect(await raw.expectDisconnect()).toBe(RC.receiveMaximumExceeded)
    } finally {
      raw.destroy()
    }
  })
})

describe('MQTT 3.1.1 and the server Receive Maximum', () => {
  test('a v3.1.1 client is told no limit, so none is enforced', async () => {
    const raw = await open(limited.mqttPort, 4)
    try {
      const topic = `rmax/${uniqueId('v4')}`
      for (let id = 1; id <= MAX + 2; id++) await publishQos2(raw, topic, id)
      await raw.ping()
      expect(raw.closed).toBe(false)
    } finally {
      raw.destroy()
    }
  })
})
