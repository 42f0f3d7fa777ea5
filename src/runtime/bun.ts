/**
 * Socket implementation on `Bun.listen`. Bun's `write` is unbuffered (it returns how many bytes
 * the kernel took), so this file keeps the unsent remainder itself and flushes it on `drain`.
 *
 * @module
 */
import type { ListenFn, Listener, Socket } from './socket.ts'

/** write() returns false above this many queued bytes. */
const HIGH_WATER = 256 * 1024
/** onDrain fires once the queue is back at or below this. */
const LOW_WATER = 64 * 1024
/** How long end() waits for the peer to close after our FIN before it drops the socket. */
const END_TIMEOUT_MS = 5000

type RawSocket = Bun.Socket<BunSocket | undefined>

class BunSocket implements Socket {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  #raw: RawSocket
  #closed = false
  #error: Error | undefined
  #endTimer: ReturnType<typeof setTimeout> | undefined
  /** Unsent chunks; the first may be a subarray of what the caller passed. Never copied. */
  #queue: Uint8Array[] = []
  #queued = 0
  #needDrain = false
  #ending = false
  #onData: (chunk: Uint8Array) => void = () => {}
  #onDrain: () => void = () => {}
  #onClose: (error?: Error) => void = () => {}

  constructor(raw: RawSocket) {
    this.#raw = raw
    this.remoteAddress = raw.remoteAddress
    this.remotePort = raw.remotePort
    this.localAddress = raw.localAddress
    this.localPort = raw.localPort
    raw.setNoDelay(true)
  }

  get closed(): boolean {
    return this.#closed
  }

  write(data: Uint8Array): boolean {
    if (this.closed || this.#ending) return false
    if (this.#queued === 0) {
      const n = this.#raw.write(data)
      if (n < 0) return false
      if (n === data.length) return true
      data = data.subarray(n)
    }
    this.#queue.push(data)
    this.#queued += data.length
    if (this.#queued > HIGH_WATER) this.#needDrain = true
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
    if (!this.closed) this.#raw.pause()
  }
  resume(): void {
    if (!this.closed) this.#raw.resume()
  }

  end(): void {
    if (this.closed || this.#ending) return
    this.#ending = true
    if (this.#queued === 0) this.#finish()
  }

  destroy(): void {
    if (this.closed) return
    this.#queue.length = 0
    this.#queued = 0
    this.#raw.terminate()
  }

  /** Bun's `data` handler. Bun hands over a fresh buffer per read (checked by socket_test.ts). */
  handleData(chunk: Uint8Array): void {
    this.#onData(chunk)
  }

  /** Bun's `drain` handler: the kernel has room again. */
  handleDrain(): void {
    const queue = this.#queue
    let i = 0
    // Bounded by the queue length: a partial write stops the loop.
    for (; i < queue.length; i++) {
      const chunk = queue[i]!
      const n = this.#raw.write(chunk)
      if (n < 0) return
      this.#queued -= n
      if (n < chunk.length) {
        queue[i] = chunk.subarray(n)
        break
      }
    }
    if (i > 0) queue.splice(0, i)
    if (this.#queued === 0 && this.#ending && this.#endTimer === undefined) this.#finish()
    if (this.#needDrain && this.#queued <= LOW_WATER) {
      this.#needDrain = false
      this.#onDrain()
    }
  }

  /** Bun's `error` handler (a handler threw, or the connection failed): drop the socket. */
  handleError(error: Error): void {
    this.#error ??= error
    this.destroy()
  }

  handleClose(error?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    this.#queued = 0
    clearTimeout(this.#endTimer)
    this.#onClose(error ?? this.#error)
  }

  #finish(): void {
    // A half-close (FIN only), as node:net's end() does. Bun's end() closes the descriptor, so
    // bytes the peer still had in flight (frames sent before it read our close-ok) would be
    // answered with a reset, which clients report as EPIPE/ECONNRESET. We keep reading (the
    // caller ignores it) until the peer closes its side, or the timer below drops the socket.
    this.#raw.shutdown()
    // A peer that never answers our FIN must not keep the socket forever.
    this.#endTimer = setTimeout(() => this.destroy(), END_TIMEOUT_MS)
    this.#endTimer.unref()
  }
}

/** Listens with `Bun.listen`; every accepted socket gets no-delay. */
export const listen: ListenFn = async (opts, onConnection) => {
  const server = Bun.listen<BunSocket | undefined>({
    hostname: opts.host,
    port: opts.port,
    data: undefined,
    socket: {
      binaryType: 'uint8array',
      open(raw) {
        const socket = new BunSocket(raw)
        raw.data = socket
        onConnection(socket)
      },
      data: (raw, chunk) => raw.data?.handleData(chunk),
      drain: (raw) => raw.data?.handleDrain(),
      close: (raw, error) => raw.data?.handleClose(error),
      error: (raw, error) => raw.data?.handleError(error),
    },
  })
  const listener: Listener = {
    port: server.port,
    host: opts.host,
    close: async () => server.stop(false),
  }
  return listener
}
