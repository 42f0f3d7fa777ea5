/**
 * A deliberately tiny AMQP 0-9-1 client that encodes every frame by hand, so the malformed-input
 * tests do not depend on Warren's codec (or on a client library that refuses to send bad bytes).
 * It knows just enough of the spec to do the handshake, open channels and read close methods.
 */
import { connect, type Socket } from 'node:net'

export const FRAME_METHOD = 1
export const FRAME_HEADER = 2
export const FRAME_BODY = 3
export const FRAME_HEARTBEAT = 8
export const FRAME_END = 0xce
/** Marks the 8-byte "AMQP" protocol header a server answers an unsupported header with. */
export const PROTOCOL_HEADER_FRAME = -1
/** Marks bytes from the server that were not a well-formed frame (bad end octet). */
export const BAD_FRAME = -2

export const AMQP_0_9_1_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])

export interface Frame {
  type: number
  channel: number
  payload: Buffer
}

export interface Close {
  code: number
  text: string
  classId: number
  methodId: number
}

export interface Tune {
  channelMax: number
  frameMax: number
  heartbeat: number
}

export interface HandshakeOptions {
  username?: string
  password?: string
  vhost?: string
  /** Values sent in tune-ok; each defaults to the server's proposal. */
  channelMax?: number
  frameMax?: number
  heartbeat?: number
  capabilities?: Record<string, boolean>
  /** SASL mechanism named in start-ok; default PLAIN. */
  mechanism?: string
  /** The start-ok response bytes as sent; default the PLAIN response for username/password. */
  response?: Buffer
}

// --- encoding -------------------------------------------------------------------------------

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff])
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

export function shortstr(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8')
  return Buffer.concat([u8(bytes.length), bytes])
}

export function longstr(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  return Buffer.concat([u32(bytes.length), bytes])
}

type TableValue = string | boolean | number | { [key: string]: TableValue }

/** A field table with the few value types the handshake needs ('S', 't', 'I', 'F'). */
export function table(value: Record<string, TableValue>): Buffer {
  const parts: Buffer[] = []
  for (const [key, v] of Object.entries(value)) {
    parts.push(shortstr(key))
    if (typeof v === 'string') parts.push(Buffer.from('S'), longstr(v))
    else if (typeof v === 'boolean') parts.push(Buffer.from('t'), u8(v ? 1 : 0))
    else if (typeof v === 'number') {
      const b = Buffer.alloc(4)
      b.writeInt32BE(v)
      parts.push(Buffer.from('I'), b)
    } else parts.push(Buffer.from('F'), table(v))
  }
  const body = Buffer.concat(parts)
  return Buffer.concat([u32(body.length), body])
}

/** One frame: type, channel, size, payload and the end octet (overridable to test bad ends). */
export function frame(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  return Buffer.concat([u8(type), u16(channel), u32(payload.length), payload, u8(end)])
}

export function methodPayload(classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([u16(classId), u16(methodId), args])
}

export function methodFrame(channel: number, classId: number, methodId: number, args?: Buffer): Buffer {
  return frame(FRAME_METHOD, channel, methodPayload(classId, methodId, args))
}

/** A content header frame for class basic with an empty property list. */
export function contentHeaderFrame(channel: number, bodySize: number): Buffer {
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(60), u16(0), u64(bodySize), u16(0)]))
}

/** A content header frame for class basic with pre-encoded flags and property list. */
export function contentHeaderFrameWith(channel: number, bodySize: number, flagsAndProperties: Buffer): Buffer {
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(60), u16(0), u64(bodySize), flagsAndProperties]))
}

export function bodyFrame(channel: number, body: Buffer): Buffer {
  return frame(FRAME_BODY, channel, body)
}

/** basic.get (60,70) from `queue`. */
export function basicGetFrame(channel: number, queue: string, noAck: boolean): Buffer {
  return methodFrame(channel, 60, 70, Buffer.concat([u16(0), shortstr(queue), u8(noAck ? 1 : 0)]))
}

export function heartbeatFrame(channel = 0): Buffer {
  return frame(FRAME_HEARTBEAT, channel, Buffer.alloc(0))
}

/** basic.publish (60,40) to `exchange` with `routingKey`; no flags unless asked. */
export function basicPublishFrame(
  channel: number,
  exchange: string,
  routingKey: string,
  flags: { mandatory?: boolean; immediate?: boolean } = {},
): Buffer {
  const bits = (flags.mandatory ? 1 : 0) | (flags.immediate ? 2 : 0)
  return methodFrame(channel, 60, 40, Buffer.concat([u16(0), shortstr(exchange), shortstr(routingKey), u8(bits)]))
}

/** queue.declare (50,10) of a non-durable queue (passive or exclusive if asked). */
export function queueDeclareFrame(channel: number, queue: string, flags: { passive?: boolean; exclusive?: boolean } = {}): Buffer {
  const bits = (flags.passive ? 1 : 0) | (flags.exclusive ? 4 : 0)
  return methodFrame(channel, 50, 10, Buffer.concat([u16(0), shortstr(queue), u8(bits), table({})]))
}

/** queue.bind (50,20) of `queue` to `exchange` with `routingKey`. */
export function queueBindFrame(channel: number, queue: string, exchange: string, routingKey: string): Buffer {
  return methodFrame(channel, 50, 20, Buffer.concat([u16(0), shortstr(queue), shortstr(exchange), shortstr(routingKey), u8(0), table({})]))
}

/** queue.purge (50,30) of `queue`. */
export function queuePurgeFrame(channel: number, queue: string): Buffer {
  return methodFrame(channel, 50, 30, Buffer.concat([u16(0), shortstr(queue), u8(0)]))
}

/** basic.consume (60,20) from `queue` with a server-chosen tag. */
export function basicConsumeFrame(channel: number, queue: string, flags: { noAck?: boolean } = {}): Buffer {
  return methodFrame(channel, 60, 20, Buffer.concat([u16(0), shortstr(queue), shortstr(''), u8(flags.noAck ? 2 : 0), table({})]))
}

/** basic.ack (60,80) of one delivery tag. */
export function basicAckFrame(channel: number, deliveryTag: number, multiple = false): Buffer {
  return methodFrame(channel, 60, 80, Buffer.concat([u64(deliveryTag), u8(multiple ? 1 : 0)]))
}

/** confirm.select (85,10). */
export function confirmSelectFrame(channel: number): Buffer {
  return methodFrame(channel, 85, 10, u8(0))
}

/** tx.select (90,10), tx.commit (90,20) or tx.rollback (90,30). */
export function txFrame(channel: number, method: 'select' | 'commit' | 'rollback'): Buffer {
  return methodFrame(channel, 90, { select: 10, commit: 20, rollback: 30 }[method])
}

/** connection.close (10,50) from the client. */
export function connectionCloseFrame(code = 200, text = 'bye'): Buffer {
  return methodFrame(0, 10, 50, Buffer.concat([u16(code), shortstr(text), u16(0), u16(0)]))
}

// --- decoding -------------------------------------------------------------------------------

export function isMethod(f: Frame, classId: number, methodId: number): boolean {
  return f.type === FRAME_METHOD && f.payload.length >= 4 && f.payload.readUInt16BE(0) === classId && f.payload.readUInt16BE(2) === methodId
}

export function describe(f: Frame): string {
  if (f.type === PROTOCOL_HEADER_FRAME) return `protocol header ${[...f.payload].join(',')}`
  if (f.type === FRAME_METHOD) return `method ${f.payload.readUInt16BE(0)}.${f.payload.readUInt16BE(2)} on channel ${f.channel}`
  return `frame type ${f.type} on channel ${f.channel} (${f.payload.length} bytes)`
}

function readShortstr(buf: Buffer, offset: number): [string, number] {
  const len = buf.readUInt8(offset)
  return [buf.toString('utf8', offset + 1, offset + 1 + len), offset + 1 + len]
}

/** A decoded field table; only the value types Warren's connection.start uses are read. */
export type DecodedTable = { [key: string]: string | boolean | number | DecodedTable }

/** Decodes a field table at `offset` (length prefix included); returns it and the next offset. */
export function decodeTable(buf: Buffer, offset: number): [DecodedTable, number] {
  const end = offset + 4 + buf.readUInt32BE(offset)
  const result: DecodedTable = {}
  let o = offset + 4
  while (o < end) {
    const [key, afterKey] = readShortstr(buf, o)
    const type = String.fromCharCode(buf.readUInt8(afterKey))
    o = afterKey + 1
    if (type === 'S') {
      const length = buf.readUInt32BE(o)
      result[key] = buf.toString('utf8', o + 4, o + 4 + length)
      o += 4 + length
    } else if (type === 't') {
      result[key] = buf.readUInt8(o) !== 0
      o += 1
    } else if (type === 'I') {
      result[key] = buf.readInt32BE(o)
      o += 4
    } else if (type === 'F') {
      const [nested, next] = decodeTable(buf, o)
      result[key] = nested
      o = next
    } else {
      throw new Error(`decodeTable: field type '${type}' not supported by this test client`)
    }
  }
  return [result, end]
}

export interface ConnectionStart {
  versionMajor: number
  versionMinor: number
  serverProperties: DecodedTable
  mechanisms: string
  locales: string
}

/** Decodes connection.start (10,10) arguments. */
export function decodeConnectionStart(f: Frame): ConnectionStart {
  const args = f.payload.subarray(4)
  const [serverProperties, afterTable] = decodeTable(args, 2)
  const mechanismsLength = args.readUInt32BE(afterTable)
  const mechanisms = args.toString('utf8', afterTable + 4, afterTable + 4 + mechanismsLength)
  const localesAt = afterTable + 4 + mechanismsLength
  const locales = args.toString('utf8', localesAt + 4, localesAt + 4 + args.readUInt32BE(localesAt))
  return { versionMajor: args.readUInt8(0), versionMinor: args.readUInt8(1), serverProperties, mechanisms, locales }
}

/** Decodes queue.declare-ok (50,11) arguments. */
export function decodeDeclareOk(f: Frame): { queue: string; messageCount: number; consumerCount: number } {
  const args = f.payload.subarray(4)
  const [queue, next] = readShortstr(args, 0)
  return { queue, messageCount: args.readUInt32BE(next), consumerCount: args.readUInt32BE(next + 4) }
}

/** The message-count of queue.purge-ok (50,31), queue.delete-ok (50,41). */
export function decodeMessageCount(f: Frame): number {
  return f.payload.readUInt32BE(4)
}

/** Decodes connection.close (10,50) or channel.close (20,40) arguments. */
export function decodeClose(f: Frame): Close {
  const args = f.payload.subarray(4)
  const code = args.readUInt16BE(0)
  const [text, next] = readShortstr(args, 2)
  return { code, text, classId: args.readUInt16BE(next), methodId: args.readUInt16BE(next + 2) }
}

// --- the client -----------------------------------------------------------------------------

export class RawAmqp {
  readonly socket: Socket
  /** Every byte the server sent, in order. */
  readonly received: Buffer[] = []
  heartbeatsReceived = 0
  #pending: Buffer = Buffer.alloc(0)
  #frames: Frame[] = []
  #wakers: (() => void)[] = []
  #closed = false
  #closedPromise: Promise<void>

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk)
      this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
      this.#parse()
      this.#wake()
    })
    this.#closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.#closed = true
        this.#wake()
        resolve()
      })
    })
    // A reset by the server is an expected outcome in these tests, not a crash.
    socket.on('error', () => {})
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawAmqp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host })
      socket.once('connect', () => resolve(new RawAmqp(socket)))
      socket.once('error', reject)
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** All bytes received so far, concatenated. */
  receivedBytes(): Buffer {
    return Buffer.concat(this.received)
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Resolves when the server closed the socket; rejects after `timeout` ms. */
  waitClosed(timeout = 5000): Promise<void> {
    if (this.#closed) return Promise.resolve()
    let timer: ReturnType<typeof setTimeout> | undefined
    return Promise.race([
      this.#closedPromise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket still open after ${timeout} ms`)), timeout)
      }),
    ]).finally(() => clearTimeout(timer))
  }

  /** Closes our end without any AMQP goodbye. */
  destroy(): void {
    this.socket.destroy()
  }

  /** The next frame (heartbeats included); rejects on close or after `timeout` ms. */
  async next(timeout = 3000): Promise<Frame> {
    const deadline = Date.now() + timeout
    for (;;) {
      const f = this.#frames.shift()
      if (f) return f
      if (this.#closed) throw new Error('socket closed before the next frame arrived')
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no frame within ${timeout} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#wakers.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The next method frame, skipping heartbeats. */
  async nextMethod(timeout = 3000): Promise<Frame> {
    const deadline = Date.now() + timeout
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()))
      if (f.type !== FRAME_HEARTBEAT) return f
    }
  }

  /** Awaits a specific method, failing on anything else but heartbeats. */
  async expectMethod(classId: number, methodId: number, timeout = 3000): Promise<Frame> {
    const f = await this.nextMethod(timeout)
    if (!isMethod(f, classId, methodId)) throw new Error(`expected method ${classId}.${methodId}, got ${describe(f)}`)
    return f
  }

  /** Awaits connection.close from the server, answers close-ok and returns the reply. */
  async expectConnectionClose(timeout = 3000): Promise<Close> {
    const f = await this.expectMethod(10, 50, timeout)
    this.write(methodFrame(0, 10, 51))
    return decodeClose(f)
  }

  /** Awaits channel.close from the server on `channel`, answers close-ok and returns the reply. */
  async expectChannelClose(channel: number, timeout = 3000): Promise<Close> {
    const f = await this.expectMethod(20, 40, timeout)
    if (f.channel !== channel) throw new Error(`channel.close arrived on channel ${f.channel}, expected ${channel}`)
    this.write(methodFrame(channel, 20, 41))
    return decodeClose(f)
  }

  /** Sends the 0-9-1 protocol header and returns the server's connection.start frame. */
  async start(): Promise<Frame> {
    this.write(AMQP_0_9_1_HEADER)
    return await this.expectMethod(10, 10)
  }

  /** Sends connection.start-ok (PLAIN unless `mechanism`/`response` say otherwise); awaits nothing. */
  sendStartOk(opts: HandshakeOptions = {}): void {
    const capabilities = opts.capabilities ?? {
      'connection.blocked': true,
      consumer_cancel_notify: true,
      authentication_failure_close: true,
    }
    const response = opts.response ?? Buffer.from(`\u0000${opts.username ?? 'guest'}\u0000${opts.password ?? 'guest'}`)
    this.write(
      methodFrame(
        0,
        10,
        11,
        Buffer.concat([
          table({ product: 'raw-amqp test client', capabilities }),
          shortstr(opts.mechanism ?? 'PLAIN'),
          longstr(response),
          shortstr('en_US'),
        ]),
      ),
    )
  }

  /** Sends connection.start-ok and returns the server's connection.tune proposal. */
  async startOk(opts: HandshakeOptions = {}): Promise<Tune> {
    this.sendStartOk(opts)
    const tuneFrame = await this.expectMethod(10, 30)
    const args = tuneFrame.payload.subarray(4)
    return { channelMax: args.readUInt16BE(0), frameMax: args.readUInt32BE(2), heartbeat: args.readUInt16BE(6) }
  }

  /** Sends connection.tune-ok with exactly these values. */
  tuneOk(tune: Tune): void {
    this.write(methodFrame(0, 10, 31, Buffer.concat([u16(tune.channelMax), u32(tune.frameMax), u16(tune.heartbeat)])))
  }

  /** Sends connection.open for `vhost`; the caller awaits open-ok or close. */
  open(vhost = '/'): void {
    this.write(methodFrame(0, 10, 40, Buffer.concat([shortstr(vhost), shortstr(''), u8(0)])))
  }

  /**
   * Protocol header, start/start-ok (PLAIN), tune/tune-ok, open/open-ok. Returns the server's
   * tune proposal.
   */
  async handshake(opts: HandshakeOptions = {}): Promise<Tune> {
    await this.start()
    const tune = await this.startOk(opts)
    this.tuneOk({
      channelMax: opts.channelMax ?? tune.channelMax,
      frameMax: opts.frameMax ?? tune.frameMax,
      heartbeat: opts.heartbeat ?? tune.heartbeat,
    })
    this.open(opts.vhost)
    await this.expectMethod(10, 41)
    return tune
  }

  /** channel.open on `channel`, awaiting open-ok. */
  async openChannel(channel: number): Promise<void> {
    this.write(methodFrame(channel, 20, 10, shortstr('')))
    const f = await this.expectMethod(20, 11)
    if (f.channel !== channel) throw new Error(`channel.open-ok arrived on channel ${f.channel}`)
  }

  #parse(): void {
    // Bounded: every iteration consumes at least 8 bytes or stops.
    for (;;) {
      const buf = this.#pending
      if (buf.length >= 8 && buf.toString('latin1', 0, 4) === 'AMQP') {
        this.#frames.push({ type: PROTOCOL_HEADER_FRAME, channel: 0, payload: buf.subarray(0, 8) })
        this.#pending = buf.subarray(8)
        continue
      }
      if (buf.length < 7) return
      const size = buf.readUInt32BE(3)
      if (buf.length < 8 + size) return
      const f: Frame = { type: buf.readUInt8(0), channel: buf.readUInt16BE(1), payload: buf.subarray(7, 7 + size) }
      if (buf.readUInt8(7 + size) !== FRAME_END) {
        // Surface it to the awaiting test as an odd frame instead of throwing inside a socket event.
        this.#frames.push({ type: BAD_FRAME, channel: f.channel, payload: buf.subarray(0, 8 + size) })
        this.#pending = Buffer.alloc(0)
        return
      }
      if (f.type === FRAME_HEARTBEAT) this.heartbeatsReceived += 1
      this.#frames.push(f)
      this.#pending = buf.subarray(8 + size)
    }
  }

  #wake(): void {
    const wakers = this.#wakers
    this.#wakers = []
    for (const wake of wakers) wake()
  }
}
