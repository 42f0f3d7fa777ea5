import { describe, expect, test } from 'bun:test'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { ACK, PacketWriter } from './packet_writer.ts'

function writer(version: 3 | 4 | 5): { w: PacketWriter; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = []
  const w = new PacketWriter((c) => {
    chunks.push(c)
    return true
  })
  w.protocolVersion = version
  return { w, chunks }
}

/** Decodes everything written with mqtt-packet's own parser. */
function decode(chunks: Uint8Array[], version: number): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: version })
  const out: Packet[] = []
  parser.on('packet', (p: Packet) => out.push(p))
  parser.on('error', (e: Error) => {
    throw e
  })
  for (const c of chunks) parser.parse(Buffer.from(c))
  return out
}

const payload = new TextEncoder().encode('hello')

describe('PacketWriter.publish', () => {
  for (const version of [4, 5] as const) {
    test(`v${version}: QoS 0 and QoS 2 with DUP and RETAIN decode as written`, () => {
      const { w, chunks } = writer(version)
      w.publish({ topic: 'a/b', payload, qos: 0, dup: false, retain: false, packetId: 0, properties: undefined })
      w.publish({ topic: 'ü/€', payload, qos: 2, dup: true, retain: true, packetId: 513, properties: undefined })
      expect(w.flush()).toBe(true)
      const [a, b] = decode(chunks, version) as [mqttPacket.IPublishPacket, mqttPacket.IPublishPacket]
      expect([a.topic, a.qos, a.dup, a.retain, String(a.payload)]).toEqual(['a/b', 0, false, false, 'hello'])
      expect([b.topic, b.qos, b.dup, b.retain, b.messageId]).toEqual(['ü/€', 2, true, true, 513])
    })
  }

  test('v5: every PUBLISH property round-trips through mqtt-packet', () => {
    const { w, chunks } = writer(5)
    const properties = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 3600,
      contentType: 'text/plain; charset=utf-8',
      responseTopic: 'reply/ü',
      correlationData: new Uint8Array([0, 1, 2, 255]),
      subscriptionIdentifier: [1, 268435455],
      topicAlias: 7,
      userProperties: { a: '1', repeated: ['x', 'y'], ü: 'ß' },
    }
    w.publish({ topic: 't', payload, qos: 1, dup: false, retain: false, packetId: 9, properties })
    w.flush()
    const [p] = decode(chunks, 5) as [mqttPacket.IPublishPacket]
    expect(p.properties).toEqual({ ...properties, correlationData: Buffer.from([0, 1, 2, 255]) })
  })

  test('v4 ignores properties', () => {
    const { w, chunks } = writer(4)
    w.publish({ topic: 't', payload, qos: 0, dup: false, retain: false, packetId: 0, properties: { contentType: 'x' } })
    w.flush()
    expect((decode(chunks, 4)[0] as mqttPacket.IPublishPacket).properties).toBeUndefined()
  })

  test('refuses, writing nothing, a packet over the client Maximum Packet Size', () => {
    const { w, chunks } = writer(5)
    w.maxPacketSize = 12
    expect(w.publish({ topic: 't', payload, qos: 0, dup: false, retain: false, packetId: 0, properties: undefined })).toBe(true) // 1+1+3+1+5 = 11
    expect(w.publish({ topic: 'tt', payload: new Uint8Array(5), qos: 1, dup: false, retain: false, packetId: 1, properties: undefined })).toBe(false)
    w.flush()
    expect(decode(chunks, 5)).toHaveLength(1)
  })

  test('a large payload is handed to the socket as it is, not copied', () => {
    const { w, chunks } = writer(4)
    const big = new Uint8Array(100_000).fill(3)
    w.publish({ topic: 't', payload: big, qos: 0, dup: false, retain: false, packetId: 0, properties: undefined })
    w.ack(ACK.puback, 1)
    w.flush()
    expect(chunks.some((c) => c === big)).toBe(true)
    const [p, ack] = decode(chunks, 4)
    expect((p as mqttPacket.IPublishPacket).payload.length).toBe(100_000)
    expect(ack!.cmd).toBe('puback')
  })
})

describe('PacketWriter acks and rare packets', () => {
  test('acknowledgements carry the id; v5 writes a non-zero reason code', () => {
    const { w, chunks } = writer(5)
    w.ack(ACK.puback, 1)
    w.ack(ACK.pubrec, 2, 0x10)
    w.ack(ACK.pubrel, 3)
    w.ack(ACK.pubcomp, 4, 0x92)
    w.pingresp()
    w.flush()
    const got = decode(chunks, 5).map((p) => [p.cmd, p.messageId, (p as { reasonCode?: number }).reasonCode])
    expect(got).toEqual([
      ['puback', 1, 0],
      ['pubrec', 2, 0x10],
      ['pubrel', 3, 0],
      ['pubcomp', 4, 0x92],
      ['pingresp', undefined, undefined],
    ])
  })

  test('v3 never writes a reason code', () => {
    const { w, chunks } = writer(4)
    w.ack(ACK.puback, 1, 0x10)
    w.flush()
    expect([...chunks[0]!]).toEqual([0x40, 2, 0, 1])
  })

  test('mqtt-packet encodes the rest; a packet it refuses leaves nothing half-written', () => {
    const { w, chunks } = writer(5)
    w.encode({ cmd: 'suback', messageId: 1, granted: [0, 1, 0x8f] })
    expect(() => w.encode({ cmd: 'suback', messageId: 2, granted: [] })).toThrow()
    w.encode({ cmd: 'disconnect', reasonCode: 0x8e })
    w.flush()
    expect(decode(chunks, 5).map((p) => p.cmd)).toEqual(['suback', 'disconnect'])
  })

  test('an idle writer holds no buffer and flushing nothing writes nothing', () => {
    const { w, chunks } = writer(4)
    expect(w.pending).toBe(false)
    expect(w.flush()).toBe(true)
    expect(chunks).toHaveLength(0)
  })
})
