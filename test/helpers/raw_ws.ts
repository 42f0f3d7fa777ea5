/**
 * A minimal WebSocket client over `node:net`, written by hand so a test can do what browser
 * WebSockets cannot: stop reading its socket (backpressure) and look at every frame. It sends
 * binary frames masked with a zero key (the mask bit is required, the key may be anything) and
 * hands every binary message's payload, in order, to `onBinary`.
 */
import { connect, type Socket } from 'node:net'
import { waitFor } from './wait.ts'

const OP_BINARY = 0x2
const OP_CLOSE = 0x8

export class RawWebSocket {
  readonly socket: Socket
  /** Status line and headers of the server's handshake answer. */
  readonly handshake: string
  /** Payload bytes of every binary message so far. */
  received = 0
  /** The close code the server sent, once it did. */
  closeCode: number | undefined
  #pending: Buffer
  #closed = false
  #onBinary: (payload: Buffer) => void = () => {}

  private constructor(socket: Socket, handshake: string, rest: Buffer) {
    this.socket = socket
    this.handshake = handshake
    this.#pending = rest
    socket.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk])
      this.#parse()
    })
    socket.on('close', () => (this.#closed = true))
    socket.on('error', () => {})
    this.#parse()
  }

  /** Connects and upgrades `path`; rejects unless the server answers 101. */
  static open(port: number, path: string, protocol?: string): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' })
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        socket.off('data', onData)
        const handshake = head.subarray(0, end).toString('latin1')
        if (!handshake.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${handshake}`))
        resolve(new RawWebSocket(socket, handshake, head.subarray(end + 4)))
      }
      socket.on('data', onData)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
            (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
            '\r\n',
        )
      })
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Receives each binary message's payload (messages that arrived earlier are not replayed). */
  onBinary(listener: (payload: Buffer) => void): void {
    this.#onBinary = listener
  }

  /** Sends `payload` as one binary message. */
  send(payload: Buffer): void {
    const n = payload.length
    const header = n < 126 ? Buffer.from([0x80 | OP_BINARY, 0x80 | n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
    if (n >= 126 && n < 65536) {
      header[0] = 0x80 | OP_BINARY
      header[1] = 0x80 | 126
      header.writeUInt16BE(n, 2)
    } else if (n >= 65536) {
      header[0] = 0x80 | OP_BINARY
      header[1] = 0x80 | 127
      header.writeBigUInt64BE(BigInt(n), 2)
    }
    // A zero masking key leaves the payload as it is.
    this.socket.write(Buffer.concat([header, Buffer.alloc(4), payload]))
  }

  /** Waits until the server sent a close frame. */
  async waitCloseFrame(timeout = 5000): Promise<number> {
    return await waitFor(() => this.closeCode, { timeout, message: 'a close frame' })
  }

  destroy(): void {
    this.socket.destroy()
  }

  #parse(): void {
    // Each pass consumes one whole frame; the loop ends when the buffer holds no whole frame.
    for (;;) {
      const buf = this.#pending
      if (buf.length < 2) return
      const opcode = buf[0]! & 0x0f
      let length = buf[1]! & 0x7f
      let offset = 2
      if (length === 126) {
        if (buf.length < 4) return
        length = buf.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (buf.length < 10) return
        length = Number(buf.readBigUInt64BE(2))
        offset = 10
      }
      if (buf.length < offset + length) return
      const payload = buf.subarray(offset, offset + length)
      this.#pending = buf.subarray(offset + length)
      if (opcode === OP_BINARY || opcode === 0x0) {
        this.received += payload.length
        this.#onBinary(payload)
      } else if (opcode === OP_CLOSE) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
    }
  }
}
