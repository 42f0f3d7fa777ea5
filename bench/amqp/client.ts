/**
 * A minimal raw AMQP 0-9-1 client for load generation on Bun: handshake, the few topology and
 * basic methods the benchmarks need, pipelined writes with backpressure, and delivery counting
 * through hooks (no message objects are built per delivery).
 *
 * Not a general client: one outstanding RPC per channel kind at a time is enough here, and the
 * server's connection.blocked is ignored (a blocked broker stops reading, which our write
 * backpressure already honours).
 *
 * @module
 */

import type { Socket as BunSocket } from 'bun'
import { FrameReader } from './frame_reader.ts'
import { ArgWriter, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER, methodFrame } from './frames.ts'

/** Called synchronously from the socket's data callback; keep them cheap. */
export interface ClientHooks {
  /** A basic.deliver method frame; its header and body frames follow. */
  onDeliver?(channel: number, deliveryTag: number): void
  /** A body frame: its bytes are `view` at [offset, offset + size), valid only during the call. */
  onBody?(channel: number, view: DataView, offset: number, size: number): void
  /** basic.ack / basic.nack from the broker on a confirm-mode channel. */
  onConfirm?(channel: number, tag: number, multiple: boolean, nack: boolean): void
  /** After every frame of one socket read: the place to flush batched acks. */
  onReadEnd?(): void
}

export interface ConnectOptions {
  host: string
  port: number
  user?: string
  password?: string
  vhost?: string
  /** Shown by the broker as the connection name. */
  name?: string
  hooks?: ClientHooks
  /** Handshake deadline in ms. */
  timeout?: number
}

export interface QueueOptions {
  /** queue.declare passive: only ask for the queue's counts (fails if it does not exist). */
  passive?: boolean
  durable?: boolean
  exclusive?: boolean
  autoDelete?: boolean
}

interface Waiter {
  classId: number
  methodId: number
  resolve(r: { payload: Uint8Array; view: DataView }): void
  reject(e: Error): void
}

const utf8 = new TextDecoder()

export class AmqpClient {
  #socket!: BunSocket<AmqpClient>
  #reader: FrameReader
  #hooks: ClientHooks
  /** Unsent bytes, oldest first; non-empty means backpressured. */
  #pending: Uint8Array[] = []
  #drainWaiters: { resolve(): void; reject(e: Error): void }[] = []
  #waiters = new Map<number, Waiter[]>()
  #closeError: Error | null = null
  #closedResolve!: (e: Error | null) => void
  /** Resolves when the socket closes: null for a clean close, else the reason. */
  readonly closed: Promise<Error | null>
  frameMax = 131072
  channelMax = 2047

  private constructor(hooks: ClientHooks) {
    this.#hooks = hooks
    this.#reader = new FrameReader((type, channel, buf, view, offset, size) => this.#frame(type, channel, buf, view, offset, size))
    this.closed = new Promise((resolve) => (this.#closedResolve = resolve))
  }

  /** Connects and completes connection.start/tune/open with PLAIN auth; heartbeats off. */
  static async connect(opts: ConnectOptions): Promise<AmqpClient> {
    const client = new AmqpClient(opts.hooks ?? {})
    client.#socket = await Bun.connect<AmqpClient>({
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
    const timer = setTimeout(() => client.#fail(new Error(`AMQP handshake timed out after ${timeout} ms`)), timeout)
    try {
      const start = client.#expect(0, 10, 10)
      client.write(PROTOCOL_HEADER)
      await start
      const user = opts.user ?? 'guest'
      const pass = opts.password ?? 'guest'
      const tune = client.#expect(0, 10, 30)
      client.write(
        methodFrame(
          0,
          10,
          11,
          new ArgWriter()
            .table({
              product: 'warren-bench',
              connection_name: opts.name ?? 'bench',
              capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true },
            })
            .shortstr('PLAIN')
            .longstr(new TextEncoder().encode(`\0${user}\0${pass}`))
            .shortstr('en_US'),
        ),
      )
      const { view } = await tune
      const serverChannelMax = view.getUint16(4)
      const serverFrameMax = view.getUint32(6)
      if (serverChannelMax > 0) client.channelMax = Math.min(client.channelMax, serverChannelMax)
      if (serverFrameMax > 0) client.frameMax = Math.min(client.frameMax, serverFrameMax)
      client.write(methodFrame(0, 10, 31, new ArgWriter().u16(client.channelMax).u32(client.frameMax).u16(0)))
      const openOk = client.#expect(0, 10, 41)
      client.write(methodFrame(0, 10, 40, new ArgWriter().shortstr(opts.vhost ?? '/').shortstr('').bit(false)))
      await openOk
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
   * modified later. Returns false when the kernel did not take everything: await `drained()`.
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

  get writable(): boolean {
    return this.#pending.length === 0
  }

  /** Resolves once everything queued by `write` has been handed to the kernel. */
  drained(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve()
    if (this.#closeError) return Promise.reject(this.#closeError)
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }))
  }

  async openChannel(channel: number): Promise<void> {
    await this.#rpc(channel, 20, 10, new ArgWriter().shortstr(''), 11)
  }

  async declareQueue(channel: number, name: string, opts: QueueOptions = {}): Promise<{ name: string; messages: number; consumers: number }> {
    const args = new ArgWriter()
      .u16(0)
      .shortstr(name)
      .bit(opts.passive ?? false)
      .bit(opts.durable ?? false)
      .bit(opts.exclusive ?? false)
      .bit(opts.autoDelete ?? false)
      .bit(false)
      .table({})
    const { payload, view } = await this.#rpc(channel, 50, 10, args, 11)
    const len = payload[4]!
    return { name: utf8.decode(payload.subarray(5, 5 + len)), messages: view.getUint32(5 + len), consumers: view.getUint32(9 + len) }
  }

  /** Returns the number of messages deleted with the queue. */
  async deleteQueue(channel: number, name: string): Promise<number> {
    const { view } = await this.#rpc(channel, 50, 40, new ArgWriter().u16(0).shortstr(name).bit(false).bit(false).bit(false), 41)
    return view.getUint32(4)
  }

  async declareExchange(channel: number, name: string, type: string, opts: { durable?: boolean; autoDelete?: boolean } = {}): Promise<void> {
    const args = new ArgWriter()
      .u16(0)
      .shortstr(name)
      .shortstr(type)
      .bit(false)
      .bit(opts.durable ?? false)
      .bit(opts.autoDelete ?? false)
      .bit(false)
      .bit(false)
      .table({})
    await this.#rpc(channel, 40, 10, args, 11)
  }

  async deleteExchange(channel: number, name: string): Promise<void> {
    await this.#rpc(channel, 40, 20, new ArgWriter().u16(0).shortstr(name).bit(false).bit(false), 21)
  }

  async bindQueue(channel: number, queue: string, exchange: string, routingKey: string): Promise<void> {
    await this.#rpc(channel, 50, 20, new ArgWriter().u16(0).shortstr(queue).shortstr(exchange).shortstr(routingKey).bit(false).table({}), 21)
  }

  /** basic.qos with global=false: a per-consumer limit, as RabbitMQ interprets it. */
  async qos(channel: number, prefetchCount: number): Promise<void> {
    await this.#rpc(channel, 60, 10, new ArgWriter().u32(0).u16(prefetchCount).bit(false), 11)
  }

  /** Returns the consumer tag. */
  async consume(channel: number, queue: string, opts: { noAck: boolean; tag?: string }): Promise<string> {
    const args = new ArgWriter()
      .u16(0)
      .shortstr(queue)
      .shortstr(opts.tag ?? '')
      .bit(false)
      .bit(opts.noAck)
      .bit(false)
      .bit(false)
      .table({})
    const { payload } = await this.#rpc(channel, 60, 20, args, 21)
    return utf8.decode(payload.subarray(5, 5 + payload[4]!))
  }

  async confirmSelect(channel: number): Promise<void> {
    await this.#rpc(channel, 85, 10, new ArgWriter().bit(false), 11)
  }

  /** connection.close, waits for close-ok (bounded by `timeout`), then ends the socket. */
  async close(timeout = 5000): Promise<void> {
    if (this.#closeError) return
    const ok = this.#expect(0, 10, 51).catch(() => undefined)
    try {
      this.write(methodFrame(0, 10, 50, new ArgWriter().u16(200).shortstr('bye').u16(0).u16(0)))
    } catch {
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([ok, new Promise((r) => (timer = setTimeout(r, timeout)))])
    clearTimeout(timer)
    this.#socket.end()
  }

  /** Drops the connection without the AMQP close handshake. */
  destroy(): void {
    this.#socket.terminate()
  }

  #rpc(channel: number, classId: number, methodId: number, args: ArgWriter, replyMethod: number) {
    const reply = this.#expect(channel, classId, replyMethod)
    this.write(methodFrame(channel, classId, methodId, args))
    return reply
  }

  #expect(channel: number, classId: number, methodId: number): Promise<{ payload: Uint8Array; view: DataView }> {
    if (this.#closeError) return Promise.reject(this.#closeError)
    return new Promise((resolve, reject) => {
      let list = this.#waiters.get(channel)
      if (!list) this.#waiters.set(channel, (list = []))
      list.push({ classId, methodId, resolve, reject })
    })
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

  // Hot path: runs for every frame, so it reads the shared buffer in place and allocates only for
  // the rare replies that a caller awaits.
  #frame(type: number, channel: number, buf: Uint8Array, view: DataView, offset: number, size: number): void {
    if (type === FRAME_BODY) {
      this.#hooks.onBody?.(channel, view, offset, size)
      return
    }
    if (type === FRAME_HEADER || type === FRAME_HEARTBEAT) return
    if (type !== FRAME_METHOD) throw new Error(`Unexpected frame type ${type}`)
    const classId = view.getUint16(offset)
    const methodId = view.getUint16(offset + 2)
    if (classId === 60) {
      if (methodId === 60) {
        // basic.deliver: consumer-tag shortstr, then delivery-tag longlong.
        const tagOff = offset + 5 + buf[offset + 4]!
        const tag = view.getUint32(tagOff) * 0x100000000 + view.getUint32(tagOff + 4)
        this.#hooks.onDeliver?.(channel, tag)
        return
      }
      if (methodId === 80 || methodId === 120) {
        const tag = view.getUint32(offset + 4) * 0x100000000 + view.getUint32(offset + 8)
        this.#hooks.onConfirm?.(channel, tag, (buf[offset + 12]! & 1) === 1, methodId === 120)
        return
      }
    }
    const payload = buf.subarray(offset, offset + size)
    if (classId === 10 && methodId === 50) return this.#serverClose(channel, payload, 'connection')
    if (classId === 20 && methodId === 40) return this.#serverClose(channel, payload, 'channel')
    // connection.blocked / unblocked and channel.flow are not needed by the benchmarks.
    if (classId === 10 && (methodId === 60 || methodId === 61)) return
    const list = this.#waiters.get(channel)
    const waiter = list?.shift()
    if (!waiter) return
    if (waiter.classId === classId && waiter.methodId === methodId) {
      // Setup replies are rare: copy so the caller may keep them past this read.
      const copy = payload.slice()
      waiter.resolve({ payload: copy, view: new DataView(copy.buffer) })
    } else {
      waiter.reject(new Error(`Expected method ${waiter.classId}.${waiter.methodId}, got ${classId}.${methodId}`))
    }
  }

  #serverClose(channel: number, payload: Uint8Array, scope: 'connection' | 'channel'): void {
    const code = (payload[4]! << 8) | payload[5]!
    const textLen = payload[6]!
    const text = utf8.decode(payload.subarray(7, 7 + textLen))
    const err = new Error(`${scope} closed by broker: ${code} ${text}`)
    if (scope === 'channel') {
      this.write(methodFrame(channel, 20, 41))
      for (const w of this.#waiters.get(channel)?.splice(0) ?? []) w.reject(err)
      return
    }
    try {
      this.write(methodFrame(0, 10, 51))
    } catch {
      // Already closing.
    }
    this.#fail(err)
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
    for (const list of this.#waiters.values()) for (const w of list.splice(0)) w.reject(err)
    this.#socket.end()
  }

  #onClose(err?: Error): void {
    const reason = this.#closeError ?? err ?? null
    if (!this.#closeError) this.#closeError = err ?? new Error('Connection closed')
    for (const list of this.#waiters.values()) for (const w of list.splice(0)) w.reject(this.#closeError)
    for (const w of this.#drainWaiters.splice(0)) w.reject(this.#closeError)
    this.#closedResolve(reason)
  }
}
