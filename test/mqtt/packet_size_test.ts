import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, assertMqttServes, connectMqtt, endAll, uniqueId } from '../helpers/mqtt.ts'
import { PROP, PUBACK, RC, RawMqtt, publishPacket } from '../helpers/raw_mqtt.ts'

// Maximum Packet Size both ways: the server refuses packets over its limit (configured here to
// 2048 bytes) and never sends a client more than the client's own limit.
const LIMIT = 2048
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker({ mqttMaxPacketSize: LIMIT })
})

afterEach(async () => {
  await assertMqttServes(broker.mqttUrl)
})

afterAll(async () => {
  await broker?.stop()
})

/** A QoS 1 PUBLISH whose whole packet (fixed header included) is exactly `size` bytes. */
function publishOfSize(version: 4 | 5, topic: string, size: number): Buffer {
  const empty = publishPacket({ version, topic, qos: 1, packetId: 1 })
  // The remaining length takes 2 bytes from 128 to 16383: account for the growth.
  let payload = size - empty.length
  let p = publishPacket({ version, topic, qos: 1, packetId: 1, payload: Buffer.alloc(payload, 0x61) })
  payload -= p.length - size
  p = publishPacket({ version, topic, qos: 1, packetId: 1, payload: Buffer.alloc(payload, 0x61) })
  if (p.length !== size) throw new Error(`built ${p.length} bytes, wanted ${size}`)
  return p
}

describe('server Maximum Packet Size (mqttMaxPacketSize 2048)', () => {
  test('v5 CONNACK advertises the server Maximum Packet Size (MQTT 5.0 3.2.2.3.6)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('mps') })
      expect(connack.properties?.values.get(PROP.maximumPacketSize)).toBe(LIMIT)
    } finally {
      raw.destroy()
    }
  })

  for (const version of VERSIONS) {
    const name = version === 5 ? '5.0' : '3.1.1'

    test(`${name}: a PUBLISH of exactly the maximum size is accepted`, async () => {
      const topic = `size/${uniqueId('exact')}`
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await sub.subscribe(topic, { qos: 1 })
        await raw.connect({ clientId: uniqueId('exact') })
        raw.write(publishOfSize(version, topic, LIMIT))
        await raw.expect(PUBACK)
        const [m] = await sub.waitMessages(1, topic)
        expect(m?.payload.length).toBeGreaterThan(LIMIT - 100)
      } finally {
        raw.destroy()
        await sub.end()
      }
    })

    test(`${name}: a PUBLISH one byte over the maximum ${version === 5 ? 'gets DISCONNECT 0x95 Packet too large' : 'closes the connection'} and is not delivered`, async () => {
      const topic = `size/${uniqueId('over')}`
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await sub.subscribe(topic, { qos: 1 })
        await raw.connect({ clientId: uniqueId('over') })
        raw.write(publishOfSize(version, topic, LIMIT + 1))
        const reason = await raw.expectDisconnect()
        if (version === 5) expect(reason).toBe(RC.packetTooLarge)
        await pub.publish(topic, 'marker', { qos: 1 })
        await sub.waitText('marker')
        expect(sub.on(topic).map((m) => m.text)).toEqual(['marker'])
      } finally {
        raw.destroy()
        await endAll(sub, pub)
      }
    })

    test(`${name}: an oversized packet is refused on its declared length, before the body arrives`, async () => {
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect({ clientId: uniqueId('header') })
        // Fixed header of a PUBLISH announcing 1 MiB, and nothing after it.
        raw.write(Buffer.from([0x30, 0x80, 0x80, 0x40]))
        const reason = await raw.expectDisconnect()
        if (version === 5) expect(reason).toBe(RC.packetTooLarge)
      } finally {
        raw.destroy()
      }
    })
  }
})

describe('client Maximum Packet Size', () => {
  test('the server never sends a PUBLISH larger than the client limit: it drops it and carries on [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async () => {
    const topic = `size/${uniqueId('client')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5, properties: { maximumPacketSize: 256 } })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, Buffer.alloc(1000, 0x62), { qos: 1 })
      await pub.publish(topic, 'small', { qos: 1 })
      await sub.waitText('small')
      // mqtt.js itself disconnects on a packet over its limit, so staying connected proves it too.
      expect(sub.closed).toBe(false)
      expect(sub.errors).toHaveLength(0)
      expect(sub.on(topic).map((m) => m.text)).toEqual(['small'])
    } finally {
      await endAll(sub, pub)
    }
  })

  test('a dropped oversized QoS 1 message counts as delivered: not resent to a returning session [MQTT-3.1.2-25]', async () => {
    const clientId = uniqueId('dropped')
    const topic = `size/${uniqueId('session')}`
    const opts = { version: 5 as const, clientId, clean: false, properties: { maximumPacketSize: 256, sessionExpiryInterval: 60 } }
    const sub = await connectMqtt(broker.mqttUrl, opts)
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, Buffer.alloc(1000, 0x62), { qos: 1 })
      await pub.publish(topic, 'small', { qos: 1 })
      await sub.waitText('small')
      await sub.end()
      const back = await connectMqtt(broker.mqttUrl, { ...opts, properties: { sessionExpiryInterval: 60 } })
      try {
        expect(back.connack.sessionPresent).toBe(true)
        await pub.publish(topic, 'after', { qos: 1 })
        await back.waitText('after')
        expect(back.on(topic).map((m) => m.text)).toEqual(['after'])
      } finally {
        await back.end()
      }
    } finally {
      await endAll(sub, pub)
      const cleanup = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: true })
      await cleanup.end()
    }
  })
})
