import { describe, expect, test } from 'bun:test'
import { PacketReader, packetLength } from './packet_reader.ts'
import { PINGREQ_PACKET, PUBACK, PUBLISH, publishPacket, writePuback } from './packets.ts'

type Seen = { type: number; flags: number; body: number[] }

function reader(): { seen: Seen[]; r: PacketReader } {
  const seen: Seen[] = []
  const r = new PacketReader((type, flags, buf, off, size) => seen.push({ type, flags, body: [...buf.subarray(off, off + size)] }))
  return { seen, r }
}

function stream(): Uint8Array {
  const small = publishPacket('t', new Uint8Array([9]), 1, 7).bytes
  const big = publishPacket('big', new Uint8Array(20_000).fill(1), 0).bytes // 3-byte Remaining Length
  const ack = new Uint8Array(4)
  writePuback(ack, 0, 0x0102)
  return new Uint8Array([...small, ...big, ...ack, ...PINGREQ_PACKET])
}

describe('packetLength', () => {
  test('reads 1- to 4-byte Remaining Lengths and waits for a short header', () => {
    expect(packetLength(new Uint8Array([0x30, 5]), 0, 2)).toBe(7)
    expect(packetLength(new Uint8Array([0x30, 0x80, 0x01]), 0, 3)).toBe(3 + 128)
    expect(packetLength(new Uint8Array([0x30, 0x80]), 0, 2)).toBe(-1)
    expect(packetLength(new Uint8Array([0x30]), 0, 1)).toBe(-1)
  })

  test('rejects a fifth length byte', () => {
    expect(() => packetLength(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0, 6)).toThrow(/Malformed/)
  })
})

describe('PacketReader', () => {
  test('splits one chunk into packets with type, flags and body', () => {
    const { seen, r } = reader()
    r.push(stream())
    expect(seen.map((s) => [s.type, s.flags])).toEqual([
      [PUBLISH, 2],
      [PUBLISH, 0],
      [PUBACK, 0],
      [12, 0],
    ])
    expect(seen[0]!.body).toEqual([0, 1, 116, 0, 7, 9])
    expect(seen[1]!.body.length).toBe(2 + 3 + 20_000)
    expect(seen[2]!.body).toEqual([1, 2])
    expect(seen[3]!.body).toEqual([])
  })

  test('gives the same packets for every way of cutting the stream in two or three', () => {
    const bytes = stream()
    const { seen: whole, r: w } = reader()
    w.push(bytes)
    // Cuts around every header byte and inside the bodies.
    const cuts = [1, 2, 3, 5, 6, 7, 8, 9, 10, 20, 1000, bytes.length - 6, bytes.length - 3, bytes.length - 2, bytes.length - 1]
    for (const a of cuts) {
      for (const b of [a + 1, a + 2, a + 500]) {
        const { seen, r } = reader()
        r.push(bytes.subarray(0, a))
        if (b < bytes.length) {
          r.push(bytes.subarray(a, b))
          r.push(bytes.subarray(b))
        } else r.push(bytes.subarray(a))
        expect(seen).toEqual(whole)
      }
    }
  })

  test('survives one byte at a time', () => {
    const bytes = stream()
    const { seen, r } = reader()
    for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1))
    expect(seen.length).toBe(4)
    expect(seen[1]!.body.length).toBe(20_005)
  })
})
