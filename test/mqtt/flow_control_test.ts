import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import {
  PROP,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  PUBACK,
  RC,
  RawMqtt,
  ackPacket,
  decodePacketId,
  decodePublish,
  prop,
  props,
  publishPacket,
  type Publish,
  type Version,
} from '../helpers/raw_mqtt.ts'

// Flow control: the server keeps at most Receive Maximum (v5) or the configured default (v3.1.1)
// unacknowledged QoS 1/2 PUBLISHes in flight to a client. The subscriber is a raw client so it can
// hold its acknowledgements without stalling its own reader (mqtt.js would).
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** Every PUBLISH the raw client has received so far (other packets are left queued). */
function drainPublishes(raw: RawMqtt, into: Publish[]): void {
  for (const p of raw.takeAll(PUBLISH)) into.push(decodePublish(p, raw.version))
}

/**
 * A PINGREQ/PINGRESP round trip: everything the server wrote to this socket before the PINGRESP
 * has arrived, so the count of PUBLISHes is exact without waiting on a timer.
 */
async function settle(raw: RawMqtt, into: Publish[]): Promise<void> {
  drainPublishes(raw, into)
  await raw.ping()
  drainPublishes(raw, into)
}

/** Waits for `n` PUBLISHes in total. */
async function untilPublishes(raw: RawMqtt, into: Publish[], n: number): Promise<void> {
  const deadline = Date.now() + 5000
  while (into.length < n) {
    drainPublishes(raw, into)
    if (into.length >= n) return
    if (Date.now() > deadline) throw new Error(`only ${into.length} of ${n} PUBLISHes arrived`)
    const p = await raw.next(Math.max(1, deadline - Date.now()))
    if (p.type !== PUBLISH) throw new Error(`unexpected packet type ${p.type}`)
    into.push(decodePublish(p, raw.version))
  }
}

async function rawSubscriber(port: number, version: Version, filters: { filter: string; qos: number }[], receiveMaximum?: number): Promise<RawMqtt> {
  const raw = await RawMqtt.open(port, version)
  const properties = receiveMaximum === undefined ? undefined : props(prop(PROP.receiveMaximum, receiveMaximum))
  const connack = await raw.connect({ clientId: uniqueId('flow'), properties })
  expect(connack.code).toBe(0)
  await raw.subscribe(1, filters)
  return raw
}

async function publishAll(pub: TestClient, topic: string, n: number, qos: 0 | 1 | 2): Promise<void> {
  // Sequential, each acknowledged: the broker has routed all of them when this returns.
  for (let i = 0; i < n; i++) await pub.publish(topic, `m${i}`, { qos })
}

describe('MQTT 5.0 Receive Maximum', () => {
  test('the server sends no more than the client Receive Maximum unacknowledged QoS 1 PUBLISHes [MQTT-3.3.4-9]', async () => {
    const topic = `flow/${uniqueId('rm')}`
    const raw = await rawSubscriber(broker.mqttPort, 5, [{ filter: topic, qos: 1 }], 2)
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      const got: Publish[] = []
      await publishAll(pub, topic, 5, 1)
      await settle(raw, got)
      expect(got.map((p) => p.payload.toString())).toEqual(['m0', 'm1'])
      // Each PUBACK opens the window by exactly one.
      raw.write(ackPacket(PUBACK, got[0]!.packetId!))
      await untilPublishes(raw, got, 3)
      await settle(raw, got)
      expect(got).toHaveLength(3)
      for (const p of got.slice(1)) raw.write(ackPacket(PUBACK, p.packetId!))
      await untilPublishes(raw, got, 5)
      await settle(raw, got)
      expect(got.map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
      // In-flight packet ids are distinct [MQTT-2.2.1-3].
      expect(new Set(got.slice(0, 2).map((p) => p.packetId)).size).toBe(2)
    } finally {
      raw.destroy()
      await pub.end()
    }
  })

  test('the window holds a QoS 2 delivery until PUBCOMP, and QoS 0 is not limited', async () => {
    const topic = `flow/${uniqueId('rm2')}`
    const raw = await rawSubscriber(broker.mqttPort, 5, [{ filter: `${topic}/q2`, qos: 2 }, { filter: `${topic}/q0`, qos: 0 }], 1)
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      const got: Publish[] = []
      await publishAll(pub, `${topic}/q2`, 2, 2)
      await publishAll(pub, `${topic}/q0`, 5, 0)
      await untilPublishes(raw, got, 6)
      await settle(raw, got)
      expect(got.filter((p) => p.qos === 0)).toHaveLength(5)
      const first = got.filter((p) => p.qos === 2)
      expect(first.map((p) => p.payload.toString())).toEqual(['m0'])
      // PUBREC does not free the slot; PUBCOMP does (MQTT 5.0 4.9, the send quota).
      raw.write(ackPacket(PUBREC, first[0]!.packetId!))
      const pubrel = await raw.find(PUBREL)
      expect(decodePacketId(pubrel)).toBe(first[0]!.packetId!)
      await settle(raw, got)
      expect(got.filter((p) => p.qos === 2)).toHaveLength(1)
      raw.write(ackPacket(PUBCOMP, first[0]!.packetId!))
      await untilPublishes(raw, got, 7)
      expect(got.filter((p) => p.qos === 2).map((p) => p.payload.toString())).toEqual(['m0', 'm1'])
    } finally {
      raw.destroy()
      await pub.end()
    }
  })

  test('more unacknowledged QoS 2 PUBLISHes than the server Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-8]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('overrm') })
      // Absent means 65535 (MQTT 5.0 3.2.2.3.3); sending that many proves nothing more here.
      const max = Number(connack.properties?.values.get(PROP.receiveMaximum) ?? 65535)
      if (max > 1000) return
      const topic = `flow/${uniqueId('over')}`
      for (let id = 1; id <= max; id++) {
        raw.write(publishPacket({ version: 5, topic, qos: 2, packetId: id, payload: 'x' }))
        await raw.expect(PUBREC)
      }
      // No PUBREL was sent: one more is over the server's quota.
      raw.write(publishPacket({ version: 5, topic, qos: 2, packetId: max + 1, payload: 'x' }))
      expect(await raw.expectDisconnect()).toBe(RC.receiveMaximumExceeded)
    } finally {
      raw.destroy()
    }
  })
})

describe('MQTT 3.1.1 in-flight window (mqttReceiveMaximum 3)', () => {
  let limited: TestBroker

  beforeAll(async () => {
    limited = await startBroker({ mqttReceiveMaximum: 3 })
  })

  afterAll(async () => {
    await limited?.stop()
  })

  test('a v3.1.1 client gets at most the configured default in flight until it acks', async () => {
    const topic = `flow/${uniqueId('v4')}`
    const raw = await rawSubscriber(limited.mqttPort, 4, [{ filter: topic, qos: 1 }])
    const pub = await connectMqtt(limited.mqttUrl, { version: 4 })
    try {
      const got: Publish[] = []
      await publishAll(pub, topic, 6, 1)
      await settle(raw, got)
      expect(got).toHaveLength(3)
      for (const p of got) raw.write(ackPacket(PUBACK, p.packetId!))
      await untilPublishes(raw, got, 6)
      expect(got.map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
    } finally {
      raw.destroy()
      await pub.end()
    }
  })
})
