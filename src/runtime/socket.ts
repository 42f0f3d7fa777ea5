/**
 * The one socket interface every adapter uses; `bun.ts` (Bun.listen) and `node.ts` (node:net,
 * used by Node and Deno) implement it. Nothing outside `src/runtime/` touches a runtime socket.
 *
 * @module
 */

/** A connected TCP stream. All callbacks run on the event loop; none may be awaited. */
export interface Socket {
  readonly remoteAddress: string
  readonly remotePort: number
  /** This end of the connection (the management API names connections "peer -> local"). */
  readonly localAddress?: string
  readonly localPort?: number
  /**
   * Queues bytes for sending. The socket keeps a reference to `data` (it does not copy it), so
   * the caller must not reuse the buffer. Returns false when the outgoing buffer is above the
   * high-water mark: stop producing until `onDrain` fires. Writing after close is a no-op.
   */
  write(data: Uint8Array): boolean
  /**
   * Incoming bytes. Each chunk is a fresh buffer the receiver may keep slices of (the runtime
   * never reuses it).
   */
  onData(listener: (chunk: Uint8Array) => void): void
  /** The outgoing buffer went below the low-water mark after `write` returned false. */
  onDrain(listener: () => void): void
  /** Fires once, after the peer closed, `end`/`destroy` completed, or an error. */
  onClose(listener: (error?: Error) => void): void
  /** Stop reading (backpressure on a publisher); idempotent. */
  pause(): void
  resume(): void
  /** Flush what is queued, then close. */
  end(): void
  /** Close now, dropping anything queued. */
  destroy(): void
  readonly closed: boolean
}

export interface Listener {
  /** The actual port (useful when asked for port 0). */
  readonly port: number
  readonly host: string
  /** Stops accepting; existing sockets stay open. */
  close(): Promise<void>
}

export interface ListenOptions {
  host: string
  port: number
}

export type ListenFn = (opts: ListenOptions, onConnection: (socket: Socket) => void) => Promise<Listener>
