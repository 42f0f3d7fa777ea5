import { describe, expect, test } from 'bun:test'
import { crc32, crc32Portable } from './crc32.ts'
import { FRAME_HEADER, frame, readFrame, scanFrames } from './frame.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

function file(...payloads: string[]): Uint8Array {
  const frames = payloads.map((p) => frame(enc.encode(p)))
  const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0))
  let at = 0
  for (const f of frames) {
    out.set(f, at)
    at += f.byteLength
  }
  return out
}

function scan(buf: Uint8Array) {
  const records: string[] = []
  const result = scanFrames(buf, 0, (payload) => records.push(dec.decode(payload)))
  return { records, ...result }
}

describe('crc32', () => {
  test('the native and the portable implementation agree, also when continued', () => {
    const data = enc.encode('The quick brown fox jumps over the lazy dog')
    expect(crc32(data)).toBe(0x414fa339)
    expect(crc32Portable(data)).toBe(0x414fa339)
    expect(crc32(data.subarray(10), crc32(data.subarray(0, 10)))).toBe(0x414fa339)
    expect(crc32Portable(data.subarray(10), crc32Portable(data.subarray(0, 10)))).toBe(0x414fa339)
  })
})

describe('scanFrames', () => {
  test('reads every record of an intact file and reports nothing', () => {
    const buf = file('a', 'bb', '', 'dddd')
    expect(scan(buf)).toEqual({ records: ['a', 'bb', '', 'dddd'], end: buf.byteLength, problems: [] })
  })

  test('a record cut short at the end is a torn tail, at any cut', () => {
    const whole = file('first', 'second', 'third record')
    const lastStart = file('first', 'second').byteLength
    for (let cut = lastStart + 1; cut < whole.byteLength; cut++) {
      const { records, end, problems } = scan(whole.subarray(0, cut))
      expect(records).toEqual(['first', 'second'])
      expect(end).toBe(lastStart)
      expect(problems).toEqual([{ kind: 'torn', offset: lastStart, bytes: cut - lastStart }])
    }
  })

  test('zeros after the last record (unwritten blocks) are a torn tail too', () => {
    const good = file('x', 'y')
    const buf = new Uint8Array(good.byteLength + 64)
    buf.set(good)
    expect(scan(buf).problems).toEqual([{ kind: 'torn', offset: good.byteLength, bytes: 64 }])
  })

  test('a damaged record with good ones after it is corruption, and scanning resumes after it', () => {
    const buf = file('one', 'two', 'three')
    const second = file('one').byteLength
    for (const at of [second + 1, second + 5, second + 9, second + FRAME_HEADER + 1]) {
      const copy = buf.slice()
      copy[at] ^= 0x40
      const { records, problems } = scan(copy)
      expect(records).toEqual(['one', 'three'])
      expect(problems).toEqual([{ kind: 'corrupt', offset: second, bytes: file('two').byteLength }])
    }
  })

  test('garbage is corruption over the whole file', () => {
    const buf = new Uint8Array(100).map((_, i) => (i * 89 + 3) & 0xff)
    expect(scan(buf)).toEqual({ records: [], end: 0, problems: [{ kind: 'corrupt', offset: 0, bytes: 100 }] })
  })

  test('readFrame checks one record', () => {
    const buf = file('alpha', 'beta')
    expect(dec.decode(readFrame(buf, file('alpha').byteLength)!)).toBe('beta')
    const bad = buf.slice()
    bad[bad.byteLength - 1] ^= 1
    expect(readFrame(bad, file('alpha').byteLength)).toBeUndefined()
  })
})
