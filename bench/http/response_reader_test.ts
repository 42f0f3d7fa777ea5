import { describe, expect, test } from 'bun:test'
import { type ResponseHead, ResponseReader } from './response_reader.ts'

type Seen = { head?: ResponseHead; body: string; ended: boolean }

function read(chunks: Uint8Array[]): Seen[] {
  const seen: Seen[] = []
  let cur: Seen | undefined
  const r = new ResponseReader({
    onHead(head) {
      cur = { head, body: '', ended: false }
      seen.push(cur)
    },
    onBody(buf, s, e) {
      cur!.body += Buffer.from(buf.subarray(s, e)).toString('latin1')
    },
    onEnd() {
      cur!.ended = true
    },
  })
  for (const c of chunks) r.push(c)
  r.close()
  return seen
}

/** Every way of cutting `text` in two, plus one byte at a time. */
function cuts(text: string): Uint8Array[][] {
  const bytes = Buffer.from(text, 'latin1')
  const out: Uint8Array[][] = [[...bytes].map((b) => Uint8Array.of(b))]
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)])
  return out
}

const keepAlive =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"routed":true}' +
  'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n' +
  'HTTP/1.1 500 Oops\r\nconnection: close\r\n\r\nuntil the end'

describe('ResponseReader', () => {
  test('reads Content-Length, empty, chunked and until-close bodies however the stream is cut', () => {
    for (const chunks of cuts(keepAlive)) {
      const seen = read(chunks)
      expect(seen.map((s) => [s.head!.status, s.body, s.ended])).toEqual([
        [200, '{"routed":true}', true],
        [204, '', true],
        [200, 'hello, world', true],
        [500, 'until the end', true],
      ])
      expect(seen[0]!.head!.headers.get('content-type')).toBe('application/json')
      expect(seen[1]!.head!.headers.get('x-a')).toBe('1')
    }
  })

  test('rejects a bad status line and a bad chunk size', () => {
    expect(() => read([Buffer.from('HTTP/2 200\r\n\r\n')])).toThrow(/status line/)
    expect(() => read([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')])).toThrow(/chunk size/)
  })
})
