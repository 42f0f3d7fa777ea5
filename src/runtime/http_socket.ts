/**
 * A server-side WebSocket seen as a `Socket` byte stream: each binary message is one data chunk
 * and each `write` is one binary message. The runtime files (`http_bun.ts`, `http_node.ts`) wrap
 * their WebSocket in a `RawWebSocket` and forward its events to the `handle*` methods.
 *
 * @module
 */
import type { Socket } from './socket.ts'

/** write() returns false above this many buffered bytes (as the TCP sockets do). */
const HIGH_WATER = 256 * 1024
/** onDrain fires once the buffer is back at or below this. */
const LOW_WATER = 64 * 1024
/** How long end() waits for the peer's close frame before it drops the connection. */
const END_TIMEOUT_MS = 5000
/** RFC 6455 close codes. */
const NORMAL_CLOSURE = 1000
const UNSUPPORTED_DATA = 1003

/** The few operations the stream needs from a runtime's server-side WebSocket. */
export interface RawWebSocket {
  /** Queues one binary message; the runtime must not need `data` to stay unchanged after. */
  send(data: Uint8Array): void
  /** Bytes queued and not yet taken by the kernel. */
  bufferedAmount(): number
  /** Sends a close frame after what is queued. */
  close(code: number, reason: string): void
  /** Drops the connection now. */
  terminate(): void
  pause(): void
  resume(): void
}

const noop = (): void => {}

export class WebSocketStream implements Socket {
  readonly remoteAddress: string
  readonly remotePort: number
  #raw: RawWebSocket
  #closed = false
  #ending = false
  #needDrain = false
  #error: Error | undefined
  #endTimer: ReturnType<typeof setTimeout> | undefined
  #onData: (chunk: Uint8Array) => void = noop
  #onDrain: () => void = noop
  #onClose: (error?: Error) => void = noop

  constructor(raw: RawWebSocket, peer: { address: string; port: number }) {
    this.#raw = raw
    this.remoteAddress = peer.address
    this.remotePort = peer.port
  }

  get closed(): boolean {
    return this.#closed
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false
    // An empty binary message would reach the client as a message with nothing in it.
    if (data.length > 0) this.#raw.send(data)
    if (!this.#needDrain && this.#raw.bufferedAmount() > HIGH_WATER) this.#needDrain = true
    return !this.#needDrain
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.#onData = listener
  }
  onDrain(listener: () => void): void {
    this.#onDrain = listener
  }
  onClose(listener: (error?: Error) => void): void {
    this.#onClose = listener
  }
  pause(): void {
    if (!this.#closed) this.#raw.pause()
  }
  resume(): void {
    if (!this.#closed) this.#raw.resume()
  }

  end(): void {
    if (this.#closed || this.#ending) return
    this.#ending = true
    this.#raw.close(NORMAL_CLOSURE, '')
    // A peer that never answers our close frame must not keep the connection forever.
    this.#endTimer = setTimeout(() => this.destroy(), END_TIMEOUT_MS)
    this.#endTimer.unref?.()
  }

  destroy(): void {
    if (this.#closed) return
    this.#raw.terminate()
  }

  /** One WebSocket message. Binary only: MQTT requires it [MQTT-6.0.0-1], AMQP has no text form. */
  handleMessage(data: Uint8Array | string): void {
    if (this.#closed || this.#ending) return
    if (typeof data === 'string') {
      this.#error ??= new Error('Cannot read a text WebSocket message: binary frames only')
      this.#ending = true
      this.#raw.close(UNSUPPORTED_DATA, 'binary frames only')
      return
    }
    this.#onData(data)
  }

  /** The runtime sent some of its buffer. */
  handleDrain(): void {
    if (!this.#needDrain || this.#closed || this.#raw.bufferedAmount() > LOW_WATER) return
    this.#needDrain = false
    this.#onDrain()
  }

  handleError(error: Error): void {
    this.#error ??= error
  }

  /** The WebSocket is gone (close handshake done, connection lost, or terminated). */
  handleClose(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#endTimer)
    this.#onClose(this.#error)
  }
}
