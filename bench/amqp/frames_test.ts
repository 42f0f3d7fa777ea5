import { describe, expect, test } from 'bun:test'
import { FrameReader } from './frame_reader.ts'
import { ACK_FRAME_SIZE, ArgWriter, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, methodFrame, publishFrames, writeAck } from './frames.ts'

type Frame = { type: number; channel: number; payload: Uint8Array }

function split(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = []
  new FrameReader((type, channel, buf, _v, off, size) => frames.push({ type, channel, payload: buf.slice(off, off + size) })).push(bytes)
  return frames
}

describe('ArgWriter', () => {
  test('packs consecutive bits into one octet and ends the run at the next field', () => {
    const bytes = new ArgWriter().bit(true).bit(false).bit(true).u16(0x0102).bit(true).bytes()
    expect([...bytes]).toEqual([0b101, 1, 2, 1])
  })

  test('starts a new octet after eight bits', () => {
    const w = new ArgWriter()
    for (let i = 0; i < 9; i++) w.bit(true)
    expect([...w.bytes()]).toEqual([0xff, 1])
  })

  test('encodes shortstr, longstr and a nested table', () => {
    const bytes = new ArgWriter().shortstr('ab').table({ x: true, c: { y: false } }).bytes()
    // shortstr: len 2 'a' 'b'; table: u32 size, 'x' 't' 1, 'c' 'F' u32 size 'y' 't' 0
    expect([...bytes]).toEqual([2, 97, 98, 0, 0, 0, 15, 1, 120, 116, 1, 1, 99, 70, 0, 0, 0, 4, 1, 121, 116, 0])
  })

  test('rejects a shortstr over 255 bytes', () => {
    expect(() => new ArgWriter().shortstr('x'.repeat(256))).toThrow(RangeError)
  })
})

describe('publishFrames', () => {
  test('encodes basic.publish, a content header with delivery-mode, and the body', () => {
    const body = new Uint8Array([1, 2, 3])
    const frames = split(publishFrames(5, 'ex', 'rk', body, { deliveryMode: 2 }))
    expect(frames.map((f) => [f.type, f.channel])).toEqual([
      [FRAME_METHOD, 5],
      [FRAME_HEADER, 5],
      [FRAME_BODY, 5],
    ])
    // class 60 method 40, reserved short, "ex", "rk", flags octet
    expect([...frames[0]!.payload]).toEqual([0, 60, 0, 40, 0, 0, 2, 101, 120, 2, 114, 107, 0])
    // class 60, weight 0, size 3 (u64), flags 0x1000, delivery-mode 2
    expect([...frames[1]!.payload]).toEqual([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0, 2])
    expect([...frames[2]!.payload]).toEqual([1, 2, 3])
  })

  test('splits a body larger than frame-max into several body frames', () => {
    const body = new Uint8Array(100).map((_, i) => i)
    const frames = split(publishFrames(1, '', 'q', body, {}, 48))
    const bodies = frames.filter((f) => f.type === FRAME_BODY)
    expect(bodies.map((f) => f.payload.length)).toEqual([40, 40, 20])
    expect([...bodies.flatMap((f) => [...f.payload])]).toEqual([...body])
  })

  test('an empty body gets a header and no body frame', () => {
    const frames = split(publishFrames(1, '', 'q', new Uint8Array(0)))
    expect(frames.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER])
  })
})

test('writeAck encodes basic.ack with a 64-bit delivery tag', () => {
  const out = new Uint8Array(ACK_FRAME_SIZE * 2)
  const view = new DataView(out.buffer)
  let off = writeAck(out, view, 0, 3, 2 ** 33 + 7, true)
  off = writeAck(out, view, off, 3, 1, false)
  expect(off).toBe(out.length)
  const frames = split(out)
  expect(frames).toHaveLength(2)
  expect([...frames[0]!.payload]).toEqual([0, 60, 0, 80, 0, 0, 0, 2, 0, 0, 0, 7, 1])
  expect(frames[1]!.channel).toBe(3)
})

test('methodFrame without arguments', () => {
  expect([...methodFrame(0, 10, 51)]).toEqual([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 51, 0xce])
})
