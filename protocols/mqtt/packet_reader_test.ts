import { describe, expect, test } from 'bun:test'
import { bodyOffset, PacketReader } from './packet_reader.ts'

function collect(reader: PacketReader, ...chunks: number[][]): { packets: number[][]; error: string | undefined } {
  const packets: number[][] = []
  let error: string | undefined
  for (const c of chunks) {
    error ??= reader.push(new Uint8Array(c), { handlePacket: (p) => void packets.push([...p]) })
  }
  return { packets, error }
}

const PING = [0xc0, 0x00]
const PUBACK = [0x40, 0x02, 0x00, 0x01]

describe('PacketReader', () => {
  test('splits several packets in one chunk', () => {
    expect(collect(new PacketReader(100), [...PING, ...PUBACK, ...PING]).packets).toEqual([PING, PUBACK, PING])
  })

  test('hands packets inside a chunk over as views, without copying', () => {
    const chunk = new Uint8Array([...PING, ...PUBACK])
    const seen: Uint8Array[] = []
    new PacketReader(100).push(chunk, { handlePacket: (p) => void seen.push(p) })
    expect(seen[1]!.buffer).toBe(chunk.buffer)
  })

  test('assembles a packet split across chunks, header included', () => {
    const big = [0x30, 0x81, 0x01, ...new Array(129).fill(7)]
    for (const cut of [1, 2, 3, 50, big.length - 1]) {
      const { packets, error } = collect(new PacketReader(1000), big.slice(0, cut), big.slice(cut))
      expect(error).toBeUndefined()
      expect(packets).toEqual([big])
    }
  })

  test('assembles a packet delivered one byte at a time', () => {
    const packet = [0x30, 0x05, 0, 1, 0x61, 0x68, 0x69]
    const { packets } = collect(new PacketReader(100), ...packet.map((b) => [b]))
    expect(packets).toEqual([packet])
  })

  test('refuses a packet over the maximum from its header, before its body arrives', () => {
    const reader = new PacketReader(1000)
    // 0x30, remaining length 17 MiB: only the header is sent.
    const { error } = collect(reader, [0x30, 0x80, 0x80, 0x80, 0x08])
    expect(error).toBe('too-large')
    expect(reader.refusedSize).toBe(16777216 + 5)
  })

  test('counts the fixed header against the maximum', () => {
    expect(collect(new PacketReader(4), [0x40, 0x02, 0, 1]).error).toBeUndefined()
    expect(collect(new PacketReader(3), [0x40, 0x02, 0, 1]).error).toBe('too-large')
  })

  test('a fifth remaining-length byte is malformed', () => {
    expect(collect(new PacketReader(1e9), [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).error).toBe('malformed-length')
  })

  test('stop() ignores what follows', () => {
    const reader = new PacketReader(100)
    const seen: number[][] = []
    reader.push(new Uint8Array([...PING, ...PING]), {
      handlePacket: (p) => {
        seen.push([...p])
        reader.stop()
      },
    })
    expect(seen).toHaveLength(1)
  })
})

describe('bodyOffset', () => {
  test('skips the 2 to 5 byte fixed header', () => {
    expect(bodyOffset(new Uint8Array([0x30, 0x05]))).toBe(2)
    expect(bodyOffset(new Uint8Array([0x30, 0x81, 0x01]))).toBe(3)
    expect(bodyOffset(new Uint8Array([0x30, 0x80, 0x80, 0x80, 0x01]))).toBe(5)
  })
})
