/**
 * Socket implementation on `node:net`, used by Node and by Deno (through its Node compatibility
 * layer). Node buffers writes itself; this file only maps its stream events onto `Socket`.
 *
 * @module
 */
import { createServer, type Socket as NetSocket } from 'node:net'
import type { ListenFn, Listener, Socket } from './socket.ts'

/**
 * write() returns false above this many queued bytes. Checked here rather than passed as
 * `highWaterMark`, which Deno ignores; Node's own (smaller) mark guarantees its 'drain' event.
 */
const HIGH_WATER = 256 * 1024
/** How long end() waits for the peer to close after our FIN before it drops the socket. */
const END_TIMEOUT_MS = 5000

class NodeSocket implements Socket {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  #raw: NetSocket
  #closed = false
  #error: Error | undefined
  #needDrain = false
  #onDrain: () => void = () => {}
  #onClose: (error?: Error) => void = () => {}

  constructor(raw: NetSocket) {
    this.#raw = raw
    this.remoteAddress = raw.remoteAddress ?? ''
    this.remotePort = raw.remotePort ?? 0
    this.localAddress = raw.localAddress
    this.localPort = raw.localPort
    raw.setNoDelay(true)
    raw.on('error', (error) => {
      this.#error ??= error
    })
    raw.on('drain', () => {
      if (!this.#needDrain) return
      this.#needDrain = false
      this.#onDrain()
    })
    raw.on('close', () => {
      this.#closed = true
      this.#onClose(this.#error)
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#raw.destroyed || this.#raw.writableEnded) return false
    this.#raw.write(data)
    if (this.#raw.writableLength <= HIGH_WATER) return true
    this.#needDrain = true
    return false
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    // Attaching 'data' starts the flow, so nothing is read before a listener exists.
    if (this.#raw.listenerCount('data') > 0) this.#raw.removeAllListeners('data')
    this.#raw.on('data', listener)
  }
  onDrain(listener: () => void): void {
    this.#onDrain = listener
  }
  onClose(listener: (error?: Error) => void): void {
    this.#onClose = listener
  }
  pause(): void {
    this.#raw.pause()
  }
  resume(): void {
    this.#raw.resume()
  }

  end(): void {
    if (this.#closed || this.#raw.writableEnded) return
    this.#raw.end()
    // A peer that never answers our FIN must not keep the socket forever.
    const timer = setTimeout(() => this.#raw.destroy(), END_TIMEOUT_MS)
    timer.unref()
    this.#raw.once('close', () => clearTimeout(timer))
  }

  destroy(): void {
    this.#raw.destroy()
  }
}

/** Listens with `net.createServer`; every accepted socket gets no-delay. */
export const listen: ListenFn = (opts, onConnection) =>
  new Promise((resolve, reject) => {
    const server = createServer((raw) => onConnection(new NodeSocket(raw)))
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      // After bind, errors are per-accept (EMFILE, a peer reset mid-accept): keep serving.
      server.on('error', () => {})
      const address = server.address()
      const listener: Listener = {
        port: typeof address === 'object' && address ? address.port : opts.port,
        host: opts.host,
        // server.close() stops accepting at once; its callback would wait for every socket.
        close: async () => void server.close(),
      }
      resolve(listener)
    })
  })
