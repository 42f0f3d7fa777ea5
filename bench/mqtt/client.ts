/**
 * A minimal raw MQTT 3.1.1 client for load generation on Bun: CONNECT, SUBSCRIBE, pipelined
 * writes with backpressure, and PUBLISH / PUBACK counting through hooks (no message objects are
 * built per packet). Not a general client: one SUBSCRIBE outstanding at a time, no will, no QoS 2,
 * no retries.
 *
 * @module
 */

import type { Socket as BunSocket } from 'bun'
import { PacketReader } from './packet_reader.ts'
import { CONNACK, DISCONNECT_PACKET, PINGREQ_PACKET, PINGRESP, PUBACK, PUBLISH, SUBACK, connectPacket, subscribePacket } from './packets.ts'

/** Called synchronously from the socket's data callback; keep them cheap. */
export interface MqttHooks {
  /**
   * A PUBLISH from the broker: `flags` are the fixed header's low nibble (QoS in bits 1-2), the
   * variable header and payload are `buf[offset, offset + size)`, valid only during the call.
   */
  onPublish?(flags: number, buf: Uint8Array, offset: number, size: number): void
  /** A PUBACK for one of our QoS 1 publishes. */
  onPuback?(packetId: number): void
  /** After every packet of one socket read: the place to flush batched PUBACKs. */
  onReadEnd?(): void
}

export interface MqttConnectOptions {
  host: string
  port: number
  clientId: string
  /** Seconds; 0 (default) turns keep alive off. */
  keepalive?: number
  /** Clean Session (default true). */
  clean?: boolean
  username?: string
  password?: string
  hooks?: MqttHooks
  /** CONNECT-to-CONNACK deadline in ms. */
  timeout?: number
}

interface Waiter {
  type: number
  resolve(r: Uint8Array): void
  reject(e: Error): void
}

export class MqttClient {
  #socket!: BunSocket<MqttClient>
  #reader: PacketReader
  #hooks: MqttHooks
  /** Unsent bytes, oldest first; non-empty means backpressured. */
  #pending: Uint8Array[] = []
  #drainWaiters: { resolve(): void; reject(e: Error): void }[] = []
  #waiters: Waiter[] = []
  #closeError: Error | null = null
  #closedResolve!: (e: Error | null) => void
  #nextId = 0
  /** Set once our DISCONNECT went out: the close that follows is a clean one. */
  #closing = false
  /** Resolves when the socket closes: null after our own DISCONNECT, else the reason. */
  readonly closed: Promise<Error | null>

  private constructor(hooks: MqttHooks) {
    this.#hooks = hooks
    this.#reader = new PacketReader((type, flags, buf, offset, size) => this.#packet(type, flags, buf, offset, size))
    this.closed = new Promise((resolve) => (this.#closedResolve = resolve))
  }

  /** Connects and completes CONNECT / CONNACK; rejects unless the return code is 0. */
  static async connect(opts: MqttConnectOptions): Promise<MqttClient> {
    const client = new MqttClient(opts.hooks ?? {})
    client.#socket = await Bun.connect<MqttClient>({
      hostname: opts.host,
      port: opts.port,
      data: client,
      socket: {
        binaryType: 'uint8array',
        data: (s, chunk) => s.data.#onData(chunk),
        drain: (s) => s.data.#onDrain(),
        close: (s, err) => s.data.#onClose(err),
        error: (s, err) => s.data.#onClose(err),
      },
    })
    client.#socket.setNoDelay(true)
    const timeout = opts.timeout ?? 30000
    const timer = setTimeout(() => client.#fail(new Error(`MQTT CONNECT timed out after ${timeout} ms`)), timeout)
    try {
      const connack = client.#expect(CONNACK)
      client.write(connectPacket(opts))
      const body = await connack
      if (body[1] !== 0) throw new Error(`CONNACK refused the connection: return code ${body[1]}`)
    } catch (e) {
      client.#socket.end()
      throw e
    } finally {
      clearTimeout(timer)
    }
    return client
  }

  /**
   * Queues bytes; never copies and keeps a reference until sent, so pass buffers that are not
   * modified before `drained()` resolves. Returns false when the kernel did not take everything.
   */
  write(data: Uint8Array): boolean {
    if (this.#closeError) throw this.#closeError
    if (this.#pending.length === 0) {
      const n = this.#socket.write(data)
      if (n === data.length) return true
      if (n < 0) throw new Error('Cannot write: socket closed')
      this.#pending.push(n > 0 ? data.subarray(n) : data)
      return false
    }
    this.#pending.push(data)
    return false
  }

  /** Resolves once everything queued by `write` has been handed to the kernel. */
  drained(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve()
    if (this.#closeError) return Promise.reject(this.#closeError)
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }))
  }

  /** SUBSCRIBE to one filter; resolves with the granted QoS, rejects on failure (0x80). */
  async subscribe(filter: string, qos: 0 | 1): Promise<number> {
    this.#nextId = (this.#nextId % 0xffff) + 1
    const suback = this.#expect(SUBACK)
    this.write(subscribePacket(this.#nextId, filter, qos))
    const body = await suback
    const granted = body[2]!
    if (granted === 0x80) throw new Error(`SUBSCRIBE to "${filter}" refused`)
    return granted
  }

  /**
   * PINGREQ, resolved by the PINGRESP: a broker handles a connection's packets in order, so this
   * returns once it has read everything written before.
   */
  async ping(): Promise<void> {
    const resp = this.#expect(PINGRESP)
    this.write(PINGREQ_PACKET)
    await resp
  }

  /** DISCONNECT, then waits (bounded by `timeout`) for the broker to close the socket. */
  async close(timeout = 5000): Promise<void> {
    if (this.#closeError) return
    try {
      this.write(DISCONNECT_PACKET)
    } catch {
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.drained().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, timeout)))])
    clearTimeout(timer)
    this.#closing = true
    this.#socket.end()
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, timeout)))])
    clearTimeout(timer)
  }

  /** Drops the connection without DISCONNECT. */
  destroy(): void {
    this.#socket.terminate()
  }

  #expect(type: number): Promise<Uint8Array> {
    if (this.#closeError) return Promise.reject(this.#closeError)
    return new Promise((resolve, reject) => this.#waiters.push({ type, resolve, reject }))
  }

  #onData(chunk: Uint8Array): void {
    try {
      this.#reader.push(chunk)
    } catch (e) {
      this.#fail(e as Error)
      return
    }
    this.#hooks.onReadEnd?.()
  }

  // Hot path: runs for every packet, reads the shared buffer in place.
  #packet(type: number, flags: number, buf: Uint8Array, offset: number, size: number): void {
    if (type === PUBLISH) {
      this.#hooks.onPublish?.(flags, buf, offset, size)
      return
    }
    if (type === PUBACK) {
      this.#hooks.onPuback?.((buf[offset]! << 8) | buf[offset + 1]!)
      return
    }
    const waiter = this.#waiters[0]
    if (!waiter || waiter.type !== type) {
      if (type === PINGRESP) return
      throw new Error(`Unexpected MQTT packet type ${type}${waiter ? ` (waiting for ${waiter.type})` : ''}`)
    }
    this.#waiters.shift()
    waiter.resolve(buf.slice(offset, offset + size))
  }

  #onDrain(): void {
    // Bounded by the queue length; stops at the first partial write.
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!
      const n = this.#socket.write(head)
      if (n < 0) return
      if (n < head.length) {
        this.#pending[0] = head.subarray(n)
        return
      }
      this.#pending.shift()
    }
    for (const w of this.#drainWaiters.splice(0)) w.resolve()
  }

  #fail(err: Error): void {
    if (this.#closeError) return
    this.#closeError = err
    for (const w of this.#waiters.splice(0)) w.reject(err)
    this.#socket.end()
  }

  #onClose(err?: Error): void {
    const clean = this.#closing && !this.#closeError
    if (!this.#closeError) this.#closeError = err ?? new Error('Connection closed by broker')
    for (const w of this.#waiters.splice(0)) w.reject(this.#closeError)
    for (const w of this.#drainWaiters.splice(0)) w.reject(this.#closeError)
    this.#closedResolve(clean ? null : this.#closeError)
  }
}
