import { describe, expect, test } from 'bun:test'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { decodeFast, DuplicatePropertyError, parsePacket, repeatedProperty } from './packet_parser.ts'

function parse(bytes: Uint8Array, version?: 3 | 4 | 5): { packet?: Packet; error?: Error } {
  const out: { packet?: Packet; error?: Error } = {}
  parsePacket(bytes, version, { packet: (p) => (out.packet = p), error: (e) => (out.error = e) })
  return out
}

const gen = (p: Packet, version = 4) => new Uint8Array(mqttPacket.generate(p, { protocolVersion: version }))

describe('decodeFast', () => {
  for (const version of [4, 5] as const) {
    test(`v${version}: PUBLISH decodes as mqtt-packet decodes it`, () => {
      for (const qos of [0, 1, 2] as const) {
        const bytes = gen({ cmd: 'publish', topic: 'a/ü', payload: Buffer.from('body'), qos, dup: qos > 0, retain: true, messageId: qos ? 77 : undefined }, version)
        const fast = decodeFast(bytes, version) as mqttPacket.IPublishPacket
        expect([fast.cmd, fast.topic, fast.qos, fast.dup, fast.retain, fast.messageId, String(fast.payload)]).toEqual([
          'publish',
          'a/ü',
          qos,
          qos > 0,
          true,
          qos ? 77 : undefined,
          'body',
        ])
      }
    })
  }

  test('the payload is a view of the packet, not a copy', () => {
    const bytes = gen({ cmd: 'publish', topic: 't', payload: Buffer.from('xyz'), qos: 0, dup: false, retain: false })
    const p = decodeFast(bytes, 4) as mqttPacket.IPublishPacket
    expect((p.payload as Buffer).buffer).toBe(bytes.buffer)
  })

  test('acks and PINGREQ', () => {
    expect(decodeFast(new Uint8Array([0x40, 2, 1, 2]), 4)).toEqual({ cmd: 'puback', messageId: 258, length: 2 })
    expect(decodeFast(new Uint8Array([0x62, 2, 0, 3]), 5)).toEqual({ cmd: 'pubrel', messageId: 3, length: 2, reasonCode: 0 })
    expect(decodeFast(new Uint8Array([0xc0, 0]), 4)).toEqual({ cmd: 'pingreq' })
  })

  test('leaves v5 properties, reason codes, bad flags and QoS 3 to mqtt-packet', () => {
    const withProps = gen({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { contentType: 'a' } }, 5)
    expect(decodeFast(withProps, 5)).toBeUndefined()
    expect(decodeFast(new Uint8Array([0x40, 3, 0, 1, 0x10]), 5)).toBeUndefined()
    expect(decodeFast(new Uint8Array([0x60, 2, 0, 1]), 4)).toBeUndefined() // PUBREL without its 0010 flags
    expect(decodeFast(new Uint8Array([0xc1, 0]), 4)).toBeUndefined()
    expect(decodeFast(new Uint8Array([0x36, 3, 0, 1, 0x61]), 4)).toBeUndefined()
  })
})

describe('parsePacket', () => {
  test('CONNECT before the version is known, then v5 packets with properties', () => {
    const connect = parse(gen({ cmd: 'connect', clientId: 'c', protocolVersion: 5, properties: { sessionExpiryInterval: 10 } }, 5))
    expect((connect.packet as mqttPacket.IConnectPacket).properties?.sessionExpiryInterval).toBe(10)
    const publish = parse(gen({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { contentType: 'a' } }, 5), 5)
    expect((publish.packet as mqttPacket.IPublishPacket).properties?.contentType).toBe('a')
  })

  test('the shared parser recovers after an error: the next connection parses normally', () => {
    const bad = parse(new Uint8Array([0x10, 0x08, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0]))
    expect(bad.error?.message).toBe('Invalid protocol version')
    const good = parse(gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }] }), 4)
    expect(good.packet?.cmd).toBe('subscribe')
  })

  test('reserved flags are an error', () => {
    // SUBSCRIBE must have flags 0010 [MQTT-3.8.1-1].
    expect(parse(new Uint8Array([0x80, 0x06, 0, 1, 0, 1, 0x61, 0]), 4).error).toBeDefined()
    expect(parse(new Uint8Array([0x82, 0x06, 0, 1, 0, 1, 0x61, 0]), 4).packet?.cmd).toBe('subscribe')
  })

  test('a handler that throws does not break the next parse', () => {
    const bytes = gen({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a'] })
    expect(() =>
      parsePacket(bytes, 4, {
        packet: () => {
          throw new Error('boom')
        },
        error: () => {},
      }),
    ).toThrow('boom')
    expect(parse(bytes, 4).packet?.cmd).toBe('unsubscribe')
  })

  test('AUTH with Remaining Length 0 is reason 0x00 without properties (MQTT 5.0 3.15.2.1)', () => {
    expect(parse(new Uint8Array([0xf0, 0]), 5).packet).toEqual({ cmd: 'auth', reasonCode: 0 })
  })
})

describe('repeated v5 properties (MQTT 5.0 2.2.2.2)', () => {
  const block = (...bytes: number[]) => new Uint8Array([bytes.length, ...bytes])

  test('repeatedProperty finds a second occurrence; User Property may repeat', () => {
    const twice = block(0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2)
    expect(repeatedProperty(twice, 0, twice.length)).toBe(0x11)
    const users = block(0x26, 0, 1, 0x6b, 0, 1, 0x76, 0x26, 0, 1, 0x6b, 0, 1, 0x77, 0x03, 0, 1, 0x61)
    expect(repeatedProperty(users, 0, users.length)).toBe(0)
    const ids = block(0x0b, 0x81, 0x01, 0x0b, 0x02)
    expect(repeatedProperty(ids, 0, ids.length)).toBe(0x0b)
  })

  test('a CONNECT with Session Expiry Interval twice is an error, even when the first is 0', () => {
    const props = [0x11, 0, 0, 0, 0, 0x11, 0, 0, 0, 30]
    const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 0, props.length, ...props, 0, 1, 0x63]
    const out = parse(new Uint8Array([0x10, body.length, ...body]))
    expect(out.error).toBeInstanceOf(DuplicatePropertyError)
    expect(out.packet).toBeUndefined()
    // The shared parser carries on.
    expect(parse(gen({ cmd: 'pingreq' }), 5).packet?.cmd).toBe('pingreq')
  })

  test('a PUBLISH with two content types is an error; two user properties are not', () => {
    const publish = (props: number[]) => new Uint8Array([0x30, 4 + props.length, 0, 1, 0x74, props.length, ...props])
    expect(parse(publish([0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62]), 5).error).toBeInstanceOf(DuplicatePropertyError)
    const ok = parse(publish([0x26, 0, 1, 0x6b, 0, 1, 0x31, 0x26, 0, 1, 0x6b, 0, 1, 0x32]), 5)
    expect((ok.packet as mqttPacket.IPublishPacket).properties?.userProperties).toEqual({ k: ['1', '2'] })
  })
})
