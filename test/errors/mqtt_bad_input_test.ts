import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, assertMqttServes, connectMqtt, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import {
  CONNACK,
  CONNECT,
  PINGREQ,
  PUBREL,
  RC,
  RawMqtt,
  SUBACK,
  SUBSCRIBE,
  connectPacket,
  decodeConnack,
  decodeDisconnect,
  decodeSuback,
  packet,
  pingreqPacket,
  publishPacket,
  str,
  subscribePacket,
  typeName,
  u16,
  u8,
  type Version,
} from '../helpers/raw_mqtt.ts'

// Bytes no well-behaved client sends, written by hand. Each gets the spec's reaction: v5 a
// DISCONNECT with a reason code, then the close [MQTT-4.13.1-1]; v3.1.1 (no server DISCONNECT)
// the close; errors in CONNECT a CONNACK with a code or the close. Meanwhile a long-lived mqtt.js
// client on the same broker keeps working, and a fresh one gets a full round trip.
let broker: TestBroker
let bystander: TestClient
const bystanderTopic = `bystander/${uniqueId('t')}`
let bystanderCount = 0

beforeAll(async () => {
  broker = await startBroker()
  bystander = await connectMqtt(broker.mqttUrl, { version: 5 })
  await bystander.subscribe(bystanderTopic, { qos: 1 })
})

afterEach(async () => {
  expect(bystander.closed).toBe(false)
  bystanderCount += 1
  await bystander.publish(bystanderTopic, `after ${bystanderCount}`, { qos: 1 })
  await bystander.waitText(`after ${bystanderCount}`)
  await assertMqttServes(broker.mqttUrl)
})

afterAll(async () => {
  await bystander?.end()
  await broker?.stop()
})

async function connected(version: Version): Promise<RawMqtt> {
  const raw = await RawMqtt.open(broker.mqttPort, version)
  const connack = await raw.connect({ clientId: uniqueId('bad') })
  expect(connack.code).toBe(0)
  return raw
}

/** The raw client's close, checking nothing but (optionally) a refusing CONNACK came first. */
async function closedBeforeSession(raw: RawMqtt): Promise<void> {
  await raw.waitClosed()
  for (const p of raw.queued) {
    if (p.type !== CONNACK) throw new Error(`expected only a close, got ${typeName(p.type)}`)
    // A CONNACK here may only refuse [MQTT-3.2.2-5]: return code or reason code non-zero.
    expect(decodeConnack(p, raw.version).code).not.toBe(0)
  }
}

describe('before CONNECT', () => {
  test('a first packet that is not CONNECT (PINGREQ) closes the connection, nothing sent [MQTT-3.1.0-1]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      raw.write(pingreqPacket())
      await raw.waitClosed()
      expect(raw.queued).toHaveLength(0)
    } finally {
      raw.destroy()
    }
  })

  test('a first packet that is not CONNECT (PUBLISH) closes the connection and is not routed [MQTT-3.1.0-1]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      raw.write(publishPacket({ topic: bystanderTopic, payload: 'sneaked in', qos: 0 }))
      await raw.waitClosed()
      expect(raw.queued).toHaveLength(0)
      await bystander.publish(bystanderTopic, 'marker', { qos: 1 })
      await bystander.waitText('marker')
      expect(bystander.on().some((m) => m.text === 'sneaked in')).toBe(false)
    } finally {
      raw.destroy()
    }
  })

  test('a first packet that is not CONNECT (SUBSCRIBE) closes the connection [MQTT-3.1.0-1]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      raw.write(subscribePacket(1, [{ filter: '#', qos: 0 }]))
      await raw.waitClosed()
      expect(raw.queued).toHaveLength(0)
    } finally {
      raw.destroy()
    }
  })

  test('an HTTP request (first byte not CONNECT) closes the connection without waiting for the rest of the "packet" [MQTT-3.1.0-1] [MQTT-4.8.0-1]', async () => {
    // 'G' (0x47) reads as PUBACK with reserved flags set and a remaining length of 'E' (69):
    // the violation is visible in the first byte, and the 69 bytes never come.
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      await raw.waitClosed()
      expect(raw.queued).toHaveLength(0)
    } finally {
      raw.destroy()
    }
  })

  test('an unsupported protocol level gets CONNACK 0x01 (or v5 0x84), then close [MQTT-3.1.2-2]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      const body = Buffer.concat([str('MQTT'), u8(6), u8(0x02), u16(60), str(uniqueId('lvl6'))])
      raw.write(packet(CONNECT, 0, body))
      await raw.waitClosed()
      const connack = raw.queued.find((p) => p.type === CONNACK)
      expect(connack).toBeDefined()
      expect([0x01, 0x84]).toContain(connack!.body.readUInt8(1))
    } finally {
      raw.destroy()
    }
  })

  test('a wrong protocol name closes the connection [MQTT-3.1.2-1]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      // With valid credentials, so only the name can be the reason for refusing.
      const body = Buffer.concat([str('MQTX'), u8(4), u8(0xc2), u16(60), str(uniqueId('name')), str('guest'), str('guest')])
      raw.write(packet(CONNECT, 0, body))
      await closedBeforeSession(raw)
    } finally {
      raw.destroy()
    }
  })

  test('a malformed remaining length (5 length bytes) closes the connection (MQTT 1.5.5)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      raw.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]))
      await raw.waitClosed()
      expect(raw.queued).toHaveLength(0)
    } finally {
      raw.destroy()
    }
  })

  test('a CONNECT over the maximum packet size is refused on its declared length (17 MiB header only)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      // 17 MiB = 17825792 = 0x1100000 as a variable byte integer: 80 80 80 08 + ...
      raw.write(Buffer.from([0x10, 0x80, 0x80, 0xc0, 0x08]))
      await closedBeforeSession(raw)
    } finally {
      raw.destroy()
    }
  })

  test('CONNECT with the reserved flag bit set closes the connection [MQTT-3.1.2-3]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        raw.write(connectPacket({ version, clientId: uniqueId('rsv'), username: 'guest', password: 'guest', flags: 0xc2 | 0x01 }))
        await closedBeforeSession(raw)
      } finally {
        raw.destroy()
      }
    }
  })

  test('CONNECT with invalid UTF-8 in the client id closes the connection [MQTT-1.5.3-1]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort)
    try {
      const clientId = str(Buffer.from([0x61, 0xc3, 0x28]))
      const body = Buffer.concat([str('MQTT'), u8(4), u8(0xc2), u16(60), clientId, str('guest'), str('guest')])
      raw.write(packet(CONNECT, 0, body))
      await closedBeforeSession(raw)
    } finally {
      raw.destroy()
    }
  })
})

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'
  const expectReason = async (raw: RawMqtt, ...codes: number[]) => {
    const reason = await raw.expectDisconnect()
    if (version === 5) expect(codes).toContain(reason!)
  }

  describe(`MQTT ${name} after CONNECT`, () => {
    test(`a second CONNECT is a protocol error ${version === 5 ? '(0x82)' : ''} [MQTT-3.1.0-2]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(connectPacket({ version, clientId: uniqueId('again'), username: 'guest', password: 'guest' }))
        await expectReason(raw, RC.protocolError)
      } finally {
        raw.destroy()
      }
    })

    test(`a malformed remaining length is a malformed packet ${version === 5 ? '(0x81)' : ''} (MQTT 1.5.5)`, async () => {
      const raw = await connected(version)
      try {
        raw.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`a packet over the default 16 MiB maximum is refused on its header ${version === 5 ? '(0x95)' : ''}`, async () => {
      const raw = await connected(version)
      try {
        // A PUBLISH announcing 17 MiB; the body never comes.
        raw.write(Buffer.from([0x30, 0x80, 0x80, 0xc0, 0x08]))
        await expectReason(raw, RC.packetTooLarge)
      } finally {
        raw.destroy()
      }
    })

    test(`invalid UTF-8 in a SUBSCRIBE topic filter is a malformed packet ${version === 5 ? '(0x81)' : ''}`, async () => {
      const raw = await connected(version)
      try {
        raw.write(subscribePacket(1, [{ filter: Buffer.from([0x61, 0x2f, 0xed, 0xa0, 0x80]), qos: 0 }], { version }))
        await expectReason(raw, RC.malformedPacket, RC.topicFilterInvalid)
      } finally {
        raw.destroy()
      }
    })

    test(`invalid UTF-8 in a PUBLISH topic is a malformed packet ${version === 5 ? '(0x81) [MQTT-1.5.4-1]' : '[MQTT-1.5.3-1]'}`, async () => {
      const raw = await connected(version)
      try {
        raw.write(publishPacket({ version, topic: Buffer.from([0x61, 0x2f, 0xff, 0xfe]), payload: 'x' }))
        await expectReason(raw, RC.malformedPacket, RC.topicNameInvalid)
      } finally {
        raw.destroy()
      }
    })

    test(`U+0000 in a PUBLISH topic is a malformed packet ${version === 5 ? '(0x81) [MQTT-1.5.4-2]' : '[MQTT-1.5.3-2]'}`, async () => {
      const raw = await connected(version)
      try {
        raw.write(publishPacket({ version, topic: Buffer.from([0x61, 0x00, 0x62]), payload: 'x' }))
        await expectReason(raw, RC.malformedPacket, RC.topicNameInvalid)
      } finally {
        raw.destroy()
      }
    })

    for (const topic of ['a/+/b', 'a/#', '+', '#']) {
      test(`a wildcard in a PUBLISH topic ('${topic}') ${version === 5 ? 'gets 0x90 Topic Name invalid' : 'closes the connection'} [MQTT-3.3.2-2]`, async () => {
        const raw = await connected(version)
        try {
          raw.write(publishPacket({ version, topic, payload: 'x', qos: 1, packetId: 1 }))
          await expectReason(raw, RC.topicNameInvalid)
        } finally {
          raw.destroy()
        }
      })
    }

    test(`an empty PUBLISH topic ${version === 5 ? 'without a Topic Alias is a protocol error (0x82)' : 'closes the connection'} [MQTT-4.7.3-1]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(publishPacket({ version, topic: '', payload: 'x' }))
        await expectReason(raw, RC.protocolError, RC.topicNameInvalid)
      } finally {
        raw.destroy()
      }
    })

    test(`PUBLISH with QoS 3 is a malformed packet ${version === 5 ? '(0x81)' : ''} [MQTT-3.3.1-4]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(publishPacket({ version, topic: 'qos/three', payload: 'x', qos: 3, packetId: 1 }))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`PUBLISH QoS 1 with packet identifier 0 is an error ${version === 5 ? '(0x81/0x82)' : ''} [MQTT-2.3.1-1]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(publishPacket({ version, topic: 'pid/zero', payload: 'x', qos: 1, packetId: 0 }))
        await expectReason(raw, RC.malformedPacket, RC.protocolError)
      } finally {
        raw.destroy()
      }
    })

    test(`SUBSCRIBE with reserved flags 0000 is a malformed packet ${version === 5 ? '(0x81)' : ''} [MQTT-3.8.1-1]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(subscribePacket(1, [{ filter: 'flags/x', qos: 0 }], { version, flags: 0x00 }))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`PUBREL with reserved flags 0000 is a malformed packet ${version === 5 ? '(0x81)' : ''} [MQTT-3.6.1-1]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(packet(PUBREL, 0x00, u16(1)))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`PINGREQ with a reserved flag set is a malformed packet ${version === 5 ? '(0x81)' : ''} [MQTT-2.2.2-2]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(packet(PINGREQ, 0x01))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`SUBSCRIBE with no topic filter is a protocol violation ${version === 5 ? '(0x81/0x82)' : ''} [MQTT-3.8.3-3]`, async () => {
      const raw = await connected(version)
      try {
        const body = version === 5 ? Buffer.concat([u16(1), u8(0)]) : u16(1)
        raw.write(packet(SUBSCRIBE, 0x02, body))
        await expectReason(raw, RC.malformedPacket, RC.protocolError)
      } finally {
        raw.destroy()
      }
    })

    test(`SUBSCRIBE with requested QoS 3 is a malformed packet ${version === 5 ? '(0x81)' : ''} [MQTT-3.8.3-4]`, async () => {
      const raw = await connected(version)
      try {
        raw.write(subscribePacket(1, [{ filter: 'qos/three', options: 0x03 }], { version }))
        await expectReason(raw, RC.malformedPacket)
      } finally {
        raw.destroy()
      }
    })

    test(`an invalid topic filter ('a/#/b') ${version === 5 ? 'gets SUBACK 0x8F or DISCONNECT' : 'gets SUBACK 0x80 or the close'} (MQTT 4.7.1.2)`, async () => {
      const raw = await connected(version)
      try {
        raw.write(subscribePacket(1, [{ filter: 'a/#/b', qos: 0 }], { version }))
        const p = await raw.next().catch(() => undefined)
        if (p?.type === SUBACK) {
          expect(decodeSuback(p, version)).toEqual([version === 5 ? RC.topicFilterInvalid : 0x80])
        } else if (p !== undefined) {
          expect(version).toBe(5)
          expect(decodeDisconnect(p)).toBe(RC.topicFilterInvalid)
          await raw.waitClosed()
        } else {
          expect(raw.closed).toBe(true)
        }
      } finally {
        raw.destroy()
      }
    })

    test('a truncated packet followed by a hang-up leaves the broker serving', async () => {
      const raw = await connected(version)
      // Announces 100 bytes, sends 10, hangs up.
      raw.write(Buffer.concat([Buffer.from([0x30, 100]), Buffer.alloc(10, 0x61)]))
      raw.destroy()
      await raw.waitClosed()
    })
  })
}
