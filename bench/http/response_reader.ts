/**
 * Incremental HTTP/1.1 response reader for the load generators: status line and headers, then a
 * body framed by Content-Length, chunked transfer coding, or the end of the connection. Body bytes
 * are reported as slices of the socket's own buffers (nothing is copied but the header block and
 * chunk-size lines), so a Server-Sent Events stream can be counted without building strings.
 *
 * Several responses may follow each other on one keep-alive connection; each gets its own
 * `onHead` / `onBody`* / `onEnd`.
 *
 * @module
 */

export interface ResponseHead {
  status: number
  /** Lower-cased header names; a repeated header keeps its last value. */
  headers: Map<string, string>
}

export interface ResponseHooks {
  onHead(head: ResponseHead): void
  /** Body bytes `buf[start, end)`, valid only during the call. */
  onBody(buf: Uint8Array, start: number, end: number): void
  onEnd(): void
}

const CR = 0x0d
const LF = 0x0a
/** A header block or chunk-size line longer than this is a broken peer, not a slow one. */
const MAX_LINE_BYTES = 64 * 1024

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailer' | 'until-close'

export class ResponseReader {
  #hooks: ResponseHooks
  #state: State = 'head'
  /** Header block or chunk-size line bytes gathered so far (as latin1 text). */
  #line = ''
  /** Body bytes still expected in the current Content-Length body or chunk. */
  #left = 0

  constructor(hooks: ResponseHooks) {
    this.#hooks = hooks
  }

  /** Feeds one socket read. Throws on a malformed response. */
  push(buf: Uint8Array): void {
    let i = 0
    const end = buf.length
    // Each pass consumes at least one byte or a whole body slice: bounded by the chunk length.
    while (i < end) {
      switch (this.#state) {
        case 'head': {
          // Headers end at the first blank line; gather up to it.
          const stop = indexOfBlankLine(buf, i, end, this.#line)
          if (stop < 0) {
            this.#line += latin1(buf, i, end)
            if (this.#line.length > MAX_LINE_BYTES) throw new Error('HTTP response head too long')
            i = end
            break
          }
          this.#line += latin1(buf, i, stop)
          i = stop
          const head = parseHead(this.#line)
          this.#line = ''
          this.#hooks.onHead(head)
          this.#startBody(head)
          break
        }
        case 'length': {
          const n = Math.min(this.#left, end - i)
          this.#hooks.onBody(buf, i, i + n)
          i += n
          this.#left -= n
          if (this.#left === 0) this.#finish()
          break
        }
        case 'until-close': {
          this.#hooks.onBody(buf, i, end)
          i = end
          break
        }
        case 'chunk-size':
        case 'trailer': {
          const nl = buf.indexOf(LF, i)
          const stop = nl < 0 ? end : nl
          this.#line += latin1(buf, i, stop)
          if (this.#line.length > MAX_LINE_BYTES) throw new Error('HTTP chunk line too long')
          i = nl < 0 ? end : nl + 1
          if (nl < 0) break
          const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line
          this.#line = ''
          if (this.#state === 'trailer') {
            // Trailer fields end with an empty line.
            if (line === '') this.#finish()
            break
          }
          const size = Number.parseInt(line.split(';', 1)[0]!.trim(), 16)
          if (!Number.isFinite(size) || size < 0) throw new Error(`Bad chunk size line "${line}"`)
          if (size === 0) this.#state = 'trailer'
          else {
            this.#left = size
            this.#state = 'chunk-data'
          }
          break
        }
        case 'chunk-data': {
          const n = Math.min(this.#left, end - i)
          this.#hooks.onBody(buf, i, i + n)
          i += n
          this.#left -= n
          if (this.#left === 0) this.#state = 'chunk-data-end'
          break
        }
        case 'chunk-data-end': {
          // The CRLF after a chunk's data.
          const b = buf[i++]!
          if (b === LF) this.#state = 'chunk-size'
          else if (b !== CR) throw new Error('Missing CRLF after chunk data')
          break
        }
      }
    }
  }

  /** The connection closed: ends a body that runs until close. */
  close(): void {
    if (this.#state === 'until-close') this.#finish()
  }

  #startBody(head: ResponseHead): void {
    const te = head.headers.get('transfer-encoding')
    const cl = head.headers.get('content-length')
    if (te !== undefined && /chunked/i.test(te)) this.#state = 'chunk-size'
    else if (cl !== undefined) {
      this.#left = Number(cl)
      if (!Number.isInteger(this.#left) || this.#left < 0) throw new Error(`Bad Content-Length "${cl}"`)
      if (this.#left === 0) this.#finish()
      else this.#state = 'length'
    } else if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) this.#finish()
    else this.#state = 'until-close'
  }

  #finish(): void {
    this.#state = 'head'
    this.#left = 0
    this.#hooks.onEnd()
  }
}

/**
 * Index just past the "\r\n\r\n" that ends the header block, looking in `buf[from, end)` with
 * `before` (the bytes already gathered) in front of it; -1 when not there yet.
 */
function indexOfBlankLine(buf: Uint8Array, from: number, end: number, before: string): number {
  // The terminator may straddle the previous read: check the first bytes against the carried tail.
  const tail = before.slice(-3)
  for (let k = 1; k <= 3 && k <= tail.length; k++) {
    const want = '\r\n\r\n'
    if (tail.endsWith(want.slice(0, k)) && from + (4 - k) <= end && latin1(buf, from, from + 4 - k) === want.slice(k)) return from + 4 - k
  }
  for (let i = buf.indexOf(CR, from); i >= 0 && i + 3 < end; i = buf.indexOf(CR, i + 1)) {
    if (buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i + 4
  }
  return -1
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1')
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
  if (!m) throw new Error(`Bad HTTP status line "${lines[0]}"`)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { status: Number(m[1]), headers }
}
