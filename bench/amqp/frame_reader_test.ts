import { expect, test } from 'bun:test'
import { FrameReader } from './frame_reader.ts'
import { concat, methodFrame, publishFrames, rawFrame } from './frames.ts'

const stream = concat([
  methodFrame(0, 10, 51),
  publishFrames(1, 'x', 'y', new Uint8Array(300).fill(7), {}, 128),
  rawFrame(8, 0, new Uint8Array(0)),
])

function collect(chunks: Uint8Array[]): string[] {
  const seen: string[] = []
  const reader = new FrameReader((type, channel, buf, _v, off, size) => seen.push(`${type}/${channel}/${size}/${buf.subarray(off, off + size).reduce((a, b) => a + b, 0)}`))
  for (const c of chunks) reader.push(c)
  return seen
}

test('yields the same frames however the stream is cut into chunks', () => {
  const whole = collect([stream])
  expect(whole).toHaveLength(7)
  for (let cut = 1; cut < stream.length; cut++) {
    expect(collect([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(whole)
  }
  const bytes = Array.from(stream, (b) => new Uint8Array([b]))
  expect(collect(bytes)).toEqual(whole)
})

test('keeps a copy of a partial frame, so the caller may reuse its chunk buffer', () => {
  const seen: number[] = []
  const reader = new FrameReader((_t, _c, buf, _v, off, size) => seen.push(...buf.subarray(off, off + size)))
  const frame = rawFrame(3, 1, new Uint8Array([9, 8, 7]))
  const chunk = frame.slice(0, 9)
  reader.push(chunk)
  chunk.fill(0)
  reader.push(frame.subarray(9))
  expect(seen).toEqual([9, 8, 7])
})

test('throws on a bad frame-end octet', () => {
  const bad = rawFrame(1, 0, new Uint8Array(4))
  bad[bad.length - 1] = 0
  expect(() => new FrameReader(() => {}).push(bad)).toThrow(/Bad frame end/)
})
