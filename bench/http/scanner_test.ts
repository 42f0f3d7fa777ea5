import { describe, expect, test } from 'bun:test'
import { StreamScanner, readDigits } from './scanner.ts'

/** Scans `text` cut at the given offsets; returns the matches and their tails. */
function scan(text: string, pattern: string, tail: number, at: number[]): string[] {
  const bytes = Buffer.from(text, 'latin1')
  const s = new StreamScanner(pattern, tail)
  const found: string[] = []
  let prev = 0
  let counted = 0
  for (const cut of [...at, bytes.length]) {
    // Each slice sits inside a larger buffer, as a body slice of a socket read does.
    const padded = Buffer.concat([Buffer.from('\nid:XX'), bytes.subarray(prev, cut), Buffer.from('\nid:YY')])
    counted += s.scan(padded, 6, 6 + cut - prev, (buf, i) => found.push(Buffer.from(buf.subarray(i, i + tail)).toString('latin1')))
    prev = cut
  }
  expect(counted).toBe(found.length)
  return found
}

const sse = 'retry: 1000\nevent: stream\ndata: {}\n\nid: 1\ndata: {"payload":"T000000000000123"}\n\nid: 2\ndata: {"payload":"aaaa"}\n\n: ping\n\nid: 3\ndata: {"payload":"T000000000000456"}\n\n'

describe('StreamScanner', () => {
  test('counts every event start and reads every stamp wherever the stream is cut', () => {
    const n = Buffer.byteLength(sse)
    const cutSets: number[][] = [[]]
    for (let i = 0; i <= n; i++) cutSets.push([i])
    for (let i = 0; i < n; i += 7) for (let j = i; j <= n; j += 11) cutSets.push([i, j])
    cutSets.push(Array.from({ length: n }, (_, i) => i))
    for (const cuts of cutSets) {
      expect(scan(sse, '\nid:', 0, cuts).length).toBe(3)
      expect(scan(sse, '"payload":"T', 15, cuts)).toEqual(['000000000000123', '000000000000456'])
    }
  })

  test('reset forgets a partial match', () => {
    const s = new StreamScanner('abc')
    expect(s.scan(Buffer.from('xab'), 0, 3)).toBe(0)
    s.reset()
    expect(s.scan(Buffer.from('cab'), 0, 3)).toBe(0)
    expect(s.scan(Buffer.from('c'), 0, 1)).toBe(1)
  })

  test('readDigits', () => {
    expect(readDigits(Buffer.from('x0123'), 1, 4)).toBe(123)
    expect(readDigits(Buffer.from('12a4'), 0, 4)).toBeNaN()
  })
})
