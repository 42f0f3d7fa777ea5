import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { assertMqttServes, uniqueId } from '../helpers/mqtt.ts'
import {
  AUTH,
  CONNACK,
  DISCONNECT,
  PROP,
  RC,
  RawMqtt,
  UNSUBACK,
  UNSUBSCRIBE,
  connectPacket,
  decodeConnack,
  decodePacketId,
  decodeProperties,
  packet,
  prop,
  props,
  publishPacket,
  str,
  subscribePacket,
  u16,
  u8,
  type Version,
} from '../helpers/raw_mqtt.ts'

// Protocol errors and the reason codes MQTT 5.0 gives them, as Mosquitto answers them: a property
// given twice, a Session Expiry Interval set on DISCONNECT after CONNECT set 0, AUTH without
// enhanced authentication, and UNSUBSCRIBE with an invalid filter.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

async function connected(version: Version = 5): Promise<RawMqtt> {
  const raw = await RawMqtt.open(broker.mqttPort, version)
  const connack = await raw.connect({ clientId: uniqueId('pe') })
  expect(connack.code).toBe(0)
  return raw
}

/** UNSUBSCRIBE (flags 0b0010) for `filters`. */
function unsubscribePacket(packetId: number, filters: string[], version: Version): Buffer {
  const parts: Buffer[] = [u16(packetId)]
  if (version === 5) parts.push(props())
  for (const f of filters) parts.push(str(f))
  return packet(UNSUBSCRIBE, 0x02, Buffer.concat(parts))
}

describe('MQTT 5.0: a property included twice is a Protocol Error (MQTT 5.0 2.2.2.2)', () => {
  for (const [name, first] of [
    ['twice', 1],
    ['twice, the first 0', 0],
  ] as const) {
    test(`CONNECT with Session Expiry Interval ${name}: CONNACK 0x82, then close`, async () => {
      const raw = await RawMqtt.open(broker.mqttPort, 5)
      try {
        raw.write(
          connectPacket({
            version: 5,
            clientId: uniqueId('dup'),
            username: 'guest',
            password: 'guest',
            properties: props(prop(PROP.sessionExpiryInterval, first), prop(PROP.sessionExpiryInterval, 30)),
          }),
        )
        const connack = decodeConnack(await raw.expect(CONNACK), 5)
        expect(connack.code).toBe(RC.protocolError)
        await raw.waitClosed()
      } finally {
        raw.destroy()
      }
    })
  }

  test('CONNECT with User Property twice is fine (it may repeat)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('users'), properties: props(prop(PROP.userProperty, ['k', '1']), prop(PROP.userProperty, ['k', '2'])) })
      expect(connack.code).toBe(0)
    } finally {
      raw.destroy()
    }
  })

  test('a will property twice is refused the same way', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      raw.write(
        connectPacket({
          version: 5,
          clientId: uniqueId('dupwill'),
          username: 'guest',
          password: 'guest',
          will: { topic: 'w', payload: 'x', properties: props(prop(PROP.willDelayInterval, 1), prop(PROP.willDelayInterval, 2)) },
        }),
      )
      expect(decodeConnack(await raw.expect(CONNACK), 5).code).toBe(RC.protocolError)
      await raw.waitClosed()
    } finally {
      raw.destroy()
    }
  })

  test('PUBLISH with Content Type twice: DISCONNECT 0x82', async () => {
    const raw = await connected()
    try {
      raw.write(publishPacket({ version: 5, topic: 'dup/p', qos: 1, packetId: 1, properties: props(prop(PROP.contentType, 'a'), prop(PROP.contentType, 'b')) }))
      expect(await raw.expectDisconnect()).toBe(RC.protocolError)
    } finally {
      raw.destroy()
    }
  })

  test('SUBSCRIBE with Subscription Identifier twice: DISCONNECT 0x82', async () => {
    const raw = await connected()
    try {
      raw.write(subscribePacket(1, [{ filter: 'dup/s', qos: 1 }], { version: 5, properties: props(prop(PROP.subscriptionIdentifier, 1), prop(PROP.subscriptionIdentifier, 2)) }))
      expect(await raw.expectDisconnect()).toBe(RC.protocolError)
    } finally {
      raw.destroy()
    }
    await assertMqttServes(broker.mqttUrl)
  })
})

describe('MQTT 5.0 reason codes for client faults', () => {
  test('DISCONNECT with a Session Expiry Interval after CONNECT set 0: DISCONNECT 0x82 [MQTT-3.14.2-2]', async () => {
    const raw = await connected()
    try {
      raw.write(packet(DISCONNECT, 0, Buffer.concat([u8(0), props(prop(PROP.sessionExpiryInterval, 30))])))
      expect(await raw.expectDisconnect()).toBe(RC.protocolError)
    } finally {
      raw.destroy()
    }
  })

  for (const [name, body] of [
    ['of Remaining Length 0', Buffer.alloc(0)],
    ['with reason 0x18 Continue authentication', Buffer.from([0x18, 0])],
  ] as const) {
    test(`AUTH ${name} without an Authentication Method in CONNECT: DISCONNECT 0x82 (MQTT 5.0 4.12)`, async () => {
      const raw = await connected()
      try {
        raw.write(packet(AUTH, 0, body))
        expect(await raw.expectDisconnect()).toBe(RC.protocolError)
      } finally {
        raw.destroy()
      }
    })
  }

  test('UNSUBSCRIBE answers each filter: 0x00 removed, 0x11 none existed, 0x8F invalid (MQTT 5.0 3.11.3)', async () => {
    const raw = await connected()
    try {
      expect(await raw.subscribe(1, [{ filter: 'u/a', qos: 1 }])).toEqual([1])
      raw.write(unsubscribePacket(2, ['u/a', 'u/none', 'u/#/bad', '$share//x', 'a+'], 5))
      const unsuback = await raw.expect(UNSUBACK)
      expect(decodePacketId(unsuback)).toBe(2)
      const [, at] = decodeProperties(unsuback.body, 2)
      expect([...unsuback.body.subarray(at)]).toEqual([0x00, 0x11, RC.topicFilterInvalid, RC.topicFilterInvalid, RC.topicFilterInvalid])
      // The connection carries on.
      await raw.ping()
    } finally {
      raw.destroy()
    }
  })

  test('v3.1.1 UNSUBSCRIBE with an invalid filter still gets its UNSUBACK', async () => {
    const raw = await connected(4)
    try {
      raw.write(unsubscribePacket(3, ['u/#/bad'], 4))
      const unsuback = await raw.expect(UNSUBACK)
      expect(decodePacketId(unsuback)).toBe(3)
      expect(unsuback.body.length).toBe(2)
    } finally {
      raw.destroy()
    }
  })
})
