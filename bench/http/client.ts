/**
 * A minimal raw HTTP/1.1 client over node:net for load generation: pre-encoded requests on a
 * keep-alive connection, one at a time (no pipelining), and long-lived streaming responses
 * (Server-Sent Events) whose body bytes go straight to a callback. Far cheaper per request than
 * fetch, so the client processes leave the CPU to the broker. Not a general client: no
 * redirects, no TLS, no request bodies that are streams.
 *
 * @module
 */

import { connect, type Socket } from 'node:net'
import { type ResponseHead, ResponseReader } from './response_reader.ts'

/** `Authorization` value for the broker's default user. */
export const GUEST_AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`

export interface RequestOptions {
  host: string
  port: number
  /** The `Authorization` header value; none when undefined. */
  auth?: string
  headers?: Record<string, string>
  body?: Uint8Array | string
}

/** Encodes a whole request once, so a load generator can send the same bytes many times. */
export function requestBytes(method: string, path: string, opts: RequestOptions): Buffer {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? Buffer.from(opts.body) : Buffer.from(opts.body)
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${opts.host}:${opts.port}`]
  if (opts.auth !== undefined) lines.push(`Authorization: ${opts.auth}`)
  for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`)
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  return body === undefined ? head : Buffer.concat([head, body])
}

export interface Response extends ResponseHead {
  body: Buffer
}

interface Pending {
  onHead(head: ResponseHead): void
  onBody(buf: Uint8Array, start: number, end: number): void
  onEnd(): void
  reject(e: Error): void
}

export class HttpConnection {
  readonly #socket: Socket
  readonly #reader: ResponseReader
  /** The response being read; requests are not pipelined, so there is at most one. */
  #pending: Pending | null = null
  #error: Error | null = null
  #closedResolve!: (e: Error | null) => void
  /** Resolves when the socket closes: null after `close()`, else the reason. */
  readonly closed: Promise<Error | null>
  #closing = false

  private constructor(socket: Socket) {
    this.#socket = socket
    this.closed = new Promise((resolve) => (this.#closedResolve = resolve))
    this.#reader = new ResponseReader({
      onHead: (h) => this.#pending?.onHead(h),
      onBody: (b, s, e) => this.#pending?.onBody(b, s, e),
      onEnd: () => {
        const p = this.#pending
        this.#pending = null
        p?.onEnd()
      },
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk)
      } catch (e) {
        this.#fail(e as Error)
      }
    })
    socket.on('error', (e) => this.#fail(e))
    socket.on('close', () => {
      try {
        this.#reader.close()
      } catch {}
      this.#fail(this.#closing ? null : new Error('Connection closed by server'))
    })
  }

  /** Opens a TCP connection (Nagle off). */
  static connect(host: string, port: number, timeoutMs = 30000): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`HTTP connect to ${host}:${port} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new HttpConnection(socket))
      })
    })
  }

  /** Sends `bytes` and resolves with the whole response. */
  request(bytes: Uint8Array): Promise<Response> {
    return new Promise((resolve, reject) => {
      let head: ResponseHead | undefined
      const parts: Buffer[] = []
      this.#start(bytes, {
        onHead: (h) => (head = h),
        onBody: (b, s, e) => parts.push(Buffer.from(b.subarray(s, e))),
        onEnd: () => resolve({ ...head!, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) }),
        reject,
      })
    })
  }

  /**
   * Sends `bytes` and resolves with the response head; body slices then go to `onBody` (valid
   * only during the call) until the server ends the response (`onEnd`) or the connection closes.
   */
  stream(bytes: Uint8Array, onBody: (buf: Uint8Array, start: number, end: number) => void, onEnd: () => void = () => {}): Promise<ResponseHead> {
    return new Promise((resolve, reject) => {
      this.#start(bytes, { onHead: resolve, onBody, onEnd, reject })
    })
  }

  #start(bytes: Uint8Array, p: Pending): void {
    if (this.#error) return p.reject(this.#error)
    if (this.#pending) return p.reject(new Error('A request is already in progress on this connection'))
    this.#pending = p
    this.#socket.write(bytes)
  }

  /** Ends the connection and waits (bounded) for it to close. */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closing = true
    this.#socket.end()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
    this.#socket.destroy()
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#closing = true
    this.#socket.destroy()
  }

  #fail(e: Error | null): void {
    if (this.#error) return
    this.#error = e ?? new Error('Connection closed')
    const p = this.#pending
    this.#pending = null
    p?.reject(this.#error)
    this.#socket.destroy()
    this.#closedResolve(e)
  }
}
