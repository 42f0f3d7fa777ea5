import { describe, expect, test } from 'bun:test'
import mqttPacket from 'mqtt-packet'
import {
  CONNECT,
  DISCONNECT_PACKET,
  PINGREQ_PACKET,
  PUBACK_SIZE,
  connectPacket,
  publishPacket,
  publishPacketId,
  setPacketId,
  subscribePacket,
  varintSize,
  writePuback,
  writeVarint,
} from './packets.ts'

/** Decodes with mqtt-packet (the broker's codec), an independent check of the hand encoders. */
function decode(bytes: Uint8Array): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const out: mqttPacket.Packet[] = []
  const errors: Error[] = []
  parser.on('packet', (p) => out.push(p))
  parser.on('error', (e) => errors.push(e))
  parser.parse(Buffer.from(bytes))
  if (errors.length > 0) throw errors[0]
  return out
}

describe('Remaining Length varint', () => {
  test('uses 1 to 4 bytes at the spec boundaries', () => {
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16_383, [0xff, 0x7f]],
      [16_384, [0x80, 0x80, 0x01]],
      [2_097_151, [0xff, 0xff, 0x7f]],
      [2_097_152, [0x80, 0x80, 0x80, 0x01]],
      [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
    ]
    for (const [n, bytes] of cases) {
      const out = new Uint8Array(4)
      expect(writeVarint(out, 0, n)).toBe(bytes.length)
      expect([...out.subarray(0, bytes.length)]).toEqual(bytes)
      expect(varintSize(n)).toBe(bytes.length)
    }
  })

  test('rejects lengths MQTT cannot express', () => {
    expect(() => varintSize(268_435_456)).toThrow(RangeError)
    expect(() => varintSize(-1)).toThrow(RangeError)
  })
})

describe('encoders', () => {
  test('CONNECT: MQTT 3.1.1, clean session, keep alive, client id', () => {
    const bytes = connectPacket({ clientId: 'c1', keepalive: 60 })
    expect(bytes[0]).toBe(CONNECT << 4)
    // "MQTT", level 4, flags 0x02, keep alive 60, "c1"
    expect([...bytes]).toEqual([0x10, 14, 0, 4, 77, 81, 84, 84, 4, 0x02, 0, 60, 0, 2, 99, 49])
    const [p] = decode(bytes) as mqttPacket.IConnectPacket[]
    expect(p).toMatchObject({ cmd: 'connect', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'c1' })
  })

  test('CONNECT with credentials and a persistent session', () => {
    const [p] = decode(connectPacket({ clientId: 'c2', clean: false, username: 'u', password: 'pw' })) as mqttPacket.IConnectPacket[]
    expect(p).toMatchObject({ clean: false, keepalive: 0, username: 'u' })
    expect(Buffer.from(p!.password!).toString()).toBe('pw')
  })

  test('PUBLISH QoS 0 has no packet id', () => {
    const { bytes, idOffset } = publishPacket('a/b', new Uint8Array([1, 2, 3]), 0)
    expect(idOffset).toBe(-1)
    expect([...bytes]).toEqual([0x30, 8, 0, 3, 97, 47, 98, 1, 2, 3])
    const [p] = decode(bytes) as mqttPacket.IPublishPacket[]
    expect(p).toMatchObject({ cmd: 'publish', topic: 'a/b', qos: 0 })
    expect([...(p!.payload as Buffer)]).toEqual([1, 2, 3])
  })

  test('PUBLISH QoS 1 with a 2-byte Remaining Length can be renumbered in place', () => {
    const payload = new Uint8Array(1024).fill(7)
    const { bytes, idOffset } = publishPacket('bench/t', payload, 1, 5)
    expect(bytes[0]).toBe(0x32)
    // fixed header 1 + 2 varint bytes, topic 2 + 7
    expect(idOffset).toBe(12)
    setPacketId(bytes, idOffset, 0xbeef)
    const [p] = decode(bytes) as mqttPacket.IPublishPacket[]
    expect(p).toMatchObject({ topic: 'bench/t', qos: 1, messageId: 0xbeef })
    expect((p!.payload as Buffer).length).toBe(1024)
    // The subscriber's reader finds the id from the variable header's start.
    expect(publishPacketId(bytes, 3)).toBe(0xbeef)
  })

  test('SUBSCRIBE carries flags 0b0010, the id, the filter and the QoS', () => {
    const bytes = subscribePacket(9, 'x/#', 1)
    expect(bytes[0]).toBe(0x82)
    const [p] = decode(bytes) as mqttPacket.ISubscribePacket[]
    expect(p).toMatchObject({ cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 'x/#', qos: 1 }] })
  })

  test('PUBACK, PINGREQ and DISCONNECT', () => {
    const out = new Uint8Array(PUBACK_SIZE * 2)
    expect(writePuback(out, writePuback(out, 0, 1), 0x1234)).toBe(8)
    const packets = decode(new Uint8Array([...out, ...PINGREQ_PACKET, ...DISCONNECT_PACKET]))
    expect(packets.map((p) => p.cmd)).toEqual(['puback', 'puback', 'pingreq', 'disconnect'])
    expect((packets[1] as mqttPacket.IPubackPacket).messageId).toBe(0x1234)
  })
})
