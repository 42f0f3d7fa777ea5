/**
 * A deliberately tiny MQTT client that encodes every packet BY HAND (no mqtt-packet), so the
 * malformed-input tests can send bytes no library would, and so the broker's codec is never
 * tested against itself. It knows MQTT 3.1, 3.1.1 and 5.0 well enough to connect, publish,
 * subscribe and read what the server answers.
 */
import { connect, type Socket } from 'node:net'

/** Control packet types, [MQTT-2.1.2]. */
export const CONNECT = 1
export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const PUBREC = 5
export const PUBREL = 6
export const PUBCOMP = 7
export const SUBSCRIBE = 8
export const SUBACK = 9
export const UNSUBSCRIBE = 10
export const UNSUBACK = 11
export const PINGREQ = 12
export const PINGRESP = 13
export const DISCONNECT = 14
export const AUTH = 15

const TYPE_NAMES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH']

/** MQTT 5 property identifiers, [MQTT-2.2.2.2]. */
export const PROP = {
  payloadFormatIndicator: 0x01,
  messageExpiryInterval: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionIdentifier: 0x0b,
  sessionExpiryInterval: 0x11,
  assignedClientIdentifier: 0x12,
  serverKeepAlive: 0x13,
  authenticationMethod: 0x15,
  authenticationData: 0x16,
  requestProblemInformation: 0x17,
  willDelayInterval: 0x18,
  requestResponseInformation: 0x19,
  responseInformation: 0x1a,
  serverReference: 0x1c,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQoS: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardSubscriptionAvailable: 0x28,
  subscriptionIdentifierAvailable: 0x29,
  sharedSubscriptionAvailable: 0x2a,
} as const

/** v5 reason codes the tests name, [MQTT-2.4]. */
export const RC = {
  success: 0x00,
  malformedPacket: 0x81,
  protocolError: 0x82,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  qosNotSupported: 0x9b,
} as const

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

/** Variable Byte Integer, [MQTT-1.5.5]: 7 bits a byte, continuation bit 0x80. */
export function varint(n: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0 && bytes.length < 4)
  return Buffer.from(bytes)
}

/** UTF-8 Encoded String: two-byte length, then the bytes (given raw to allow invalid UTF-8). */
export function str(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  return Buffer.concat([u16(bytes.length), bytes])
}

/** Binary Data: two-byte length, then the bytes. */
export function bin(b: Buffer): Buffer {
  return Buffer.concat([u16(b.length), b])
}

/** A whole packet: first byte (type << 4 | flags), remaining length, body. */
export function packet(type: number, flags: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([u8((type << 4) | (flags & 0x0f)), varint(body.length), body])
}

/** One MQTT 5 property, encoded by the type the spec gives its identifier. */
export function prop(id: number, value: number | string | Buffer | [string, string]): Buffer {
  if (Array.isArray(value)) return Buffer.concat([u8(id), str(value[0]), str(value[1])])
  if (Buffer.isBuffer(value)) return Buffer.concat([u8(id), bin(value)])
  if (typeof value === 'string') return Buffer.concat([u8(id), str(value)])
  switch (id) {
    case PROP.payloadFormatIndicator:
    case PROP.requestProblemInformation:
    case PROP.requestResponseInformation:
    case PROP.maximumQoS:
    case PROP.retainAvailable:
    case PROP.wildcardSubscriptionAvailable:
    case PROP.subscriptionIdentifierAvailable:
    case PROP.sharedSubscriptionAvailable:
      return Buffer.concat([u8(id), u8(value)])
    case PROP.serverKeepAlive:
    case PROP.receiveMaximum:
    case PROP.topicAliasMaximum:
    case PROP.topicAlias:
      return Buffer.concat([u8(id), u16(value)])
    case PROP.subscriptionIdentifier:
      return Buffer.concat([u8(id), varint(value)])
    default:
      return Buffer.concat([u8(id), u32(value)])
  }
}

/** A v5 property block: length, then the properties. */
export function props(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([varint(body.length), body])
}

export type Version = 3 | 4 | 5

export interface ConnectOptions {
  version?: Version
  clientId?: string
  clean?: boolean
  keepalive?: number
  username?: string
  password?: string
  will?: { topic: string; payload: string | Buffer; qos?: 0 | 1 | 2; retain?: boolean; properties?: Buffer }
  /** v5 CONNECT properties, already encoded with props(); default an empty block. */
  properties?: Buffer
  /** Overrides the computed Connect Flags byte (to set the reserved bit). */
  flags?: number
}

/** CONNECT, [MQTT-3.1]. Level 3 uses the "MQIsdp" protocol name. */
export function connectPacket(opts: ConnectOptions = {}): Buffer {
  const version = opts.version ?? 4
  const parts: Buffer[] = [str(version === 3 ? 'MQIsdp' : 'MQTT'), u8(version)]
  let flags = opts.clean === false ? 0 : 0x02
  if (opts.will) flags |= 0x04 | ((opts.will.qos ?? 0) << 3) | (opts.will.retain ? 0x20 : 0)
  if (opts.password !== undefined) flags |= 0x40
  if (opts.username !== undefined) flags |= 0x80
  parts.push(u8(opts.flags ?? flags), u16(opts.keepalive ?? 0))
  if (version === 5) parts.push(opts.properties ?? props())
  parts.push(str(opts.clientId ?? ''))
  if (opts.will) {
    if (version === 5) parts.push(opts.will.properties ?? props())
    parts.push(str(opts.will.topic), bin(Buffer.from(opts.will.payload)))
  }
  if (opts.username !== undefined) parts.push(str(opts.username))
  if (opts.password !== undefined) parts.push(bin(Buffer.from(opts.password)))
  return packet(CONNECT, 0, Buffer.concat(parts))
}

export interface PublishOptions {
  version?: Version
  /** A string, or raw bytes (for invalid UTF-8). */
  topic: string | Buffer
  payload?: string | Buffer
  /** 0..3: 3 is the forbidden value, [MQTT-3.3.1-4]. */
  qos?: number
  dup?: boolean
  retain?: boolean
  packetId?: number
  /** v5 PUBLISH properties, already encoded with props(); default an empty block. */
  properties?: Buffer
}

/** PUBLISH, [MQTT-3.3]. */
export function publishPacket(opts: PublishOptions): Buffer {
  const qos = opts.qos ?? 0
  const flags = (opts.dup ? 0x08 : 0) | ((qos & 3) << 1) | (opts.retain ? 1 : 0)
  const parts: Buffer[] = [str(opts.topic)]
  if (qos > 0) parts.push(u16(opts.packetId ?? 1))
  if ((opts.version ?? 4) === 5) parts.push(opts.properties ?? props())
  parts.push(Buffer.from(opts.payload ?? ''))
  return packet(PUBLISH, flags, Buffer.concat(parts))
}

/** SUBSCRIBE, [MQTT-3.8]; `flags` defaults to the required 0b0010. */
export function subscribePacket(
  packetId: number,
  filters: { filter: string | Buffer; qos?: number; options?: number }[],
  opts: { version?: Version; flags?: number; properties?: Buffer } = {},
): Buffer {
  const parts: Buffer[] = [u16(packetId)]
  if ((opts.version ?? 4) === 5) parts.push(opts.properties ?? props())
  for (const f of filters) parts.push(str(f.filter), u8(f.options ?? f.qos ?? 0))
  return packet(SUBSCRIBE, opts.flags ?? 0x02, Buffer.concat(parts))
}

/** PUBACK, PUBREC, PUBREL (flags 0b0010) or PUBCOMP for one packet id; v5 reason omitted (= 0). */
export function ackPacket(type: typeof PUBACK | typeof PUBREC | typeof PUBREL | typeof PUBCOMP, packetId: number): Buffer {
  return packet(type, type === PUBREL ? 0x02 : 0, u16(packetId))
}

export function pingreqPacket(): Buffer {
  return packet(PINGREQ, 0)
}

/** DISCONNECT; v5 with a reason code when given. */
export function disconnectPacket(reasonCode?: number): Buffer {
  return packet(DISCONNECT, 0, reasonCode === undefined ? Buffer.alloc(0) : Buffer.concat([u8(reasonCode), props()]))
}

// --- decoding -------------------------------------------------------------------------------

export interface Packet {
  type: number
  flags: number
  body: Buffer
}

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`
}

/** Property values by identifier; user properties as pairs, subscription identifiers as a list. */
export interface Properties {
  values: Map<number, number | string | Buffer>
  userProperties: [string, string][]
  subscriptionIdentifiers: number[]
}

function readVarint(buf: Buffer, offset: number): [number, number] {
  let value = 0
  let multiplier = 1
  for (let i = 0; i < 4; i++) {
    const byte = buf.readUInt8(offset + i)
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return [value, offset + i + 1]
    multiplier *= 128
  }
  throw new Error('malformed variable byte integer from the server')
}

function readStr(buf: Buffer, offset: number): [string, number] {
  const len = buf.readUInt16BE(offset)
  return [buf.toString('utf8', offset + 2, offset + 2 + len), offset + 2 + len]
}

/** Decodes a v5 property block at `offset` (length included); returns it and the next offset. */
export function decodeProperties(buf: Buffer, offset: number): [Properties, number] {
  const [length, start] = readVarint(buf, offset)
  const end = start + length
  const result: Properties = { values: new Map(), userProperties: [], subscriptionIdentifiers: [] }
  let o = start
  while (o < end) {
    const id = buf.readUInt8(o)
    o += 1
    switch (id) {
      case PROP.payloadFormatIndicator:
      case PROP.requestProblemInformation:
      case PROP.requestResponseInformation:
      case PROP.maximumQoS:
      case PROP.retainAvailable:
      case PROP.wildcardSubscriptionAvailable:
      case PROP.subscriptionIdentifierAvailable:
      case PROP.sharedSubscriptionAvailable:
        result.values.set(id, buf.readUInt8(o))
        o += 1
        break
      case PROP.serverKeepAlive:
      case PROP.receiveMaximum:
      case PROP.topicAliasMaximum:
      case PROP.topicAlias:
        result.values.set(id, buf.readUInt16BE(o))
        o += 2
        break
      case PROP.messageExpiryInterval:
      case PROP.sessionExpiryInterval:
      case PROP.willDelayInterval:
      case PROP.maximumPacketSize:
        result.values.set(id, buf.readUInt32BE(o))
        o += 4
        break
      case PROP.subscriptionIdentifier: {
        const [value, next] = readVarint(buf, o)
        result.subscriptionIdentifiers.push(value)
        o = next
        break
      }
      case PROP.correlationData:
      case PROP.authenticationData: {
        const len = buf.readUInt16BE(o)
        result.values.set(id, buf.subarray(o + 2, o + 2 + len))
        o += 2 + len
        break
      }
      case PROP.userProperty: {
        const [key, afterKey] = readStr(buf, o)
        const [value, next] = readStr(buf, afterKey)
        result.userProperties.push([key, value])
        o = next
        break
      }
      default: {
        // Every remaining identifier the spec defines is a UTF-8 string.
        const [value, next] = readStr(buf, o)
        result.values.set(id, value)
        o = next
      }
    }
  }
  return [result, end]
}

export interface Connack {
  sessionPresent: boolean
  /** v3/v4 return code or v5 reason code. */
  code: number
  properties?: Properties
}

export function decodeConnack(p: Packet, version: Version): Connack {
  const connack: Connack = { sessionPresent: (p.body.readUInt8(0) & 1) === 1, code: p.body.readUInt8(1) }
  if (version === 5 && p.body.length > 2) connack.properties = decodeProperties(p.body, 2)[0]
  return connack
}

/** The v5 DISCONNECT reason code (0 when the body is empty, [MQTT-3.14.2-1]). */
export function decodeDisconnect(p: Packet): number {
  return p.body.length === 0 ? 0 : p.body.readUInt8(0)
}

export interface Publish {
  topic: string
  qos: number
  dup: boolean
  retain: boolean
  packetId?: number
  properties?: Properties
  payload: Buffer
}

export function decodePublish(p: Packet, version: Version): Publish {
  const qos = (p.flags >> 1) & 3
  let [topic, o] = readStr(p.body, 0)
  let packetId: number | undefined
  if (qos > 0) {
    packetId = p.body.readUInt16BE(o)
    o += 2
  }
  let properties: Properties | undefined
  if (version === 5) [properties, o] = decodeProperties(p.body, o)
  return { topic, qos, dup: (p.flags & 8) !== 0, retain: (p.flags & 1) !== 0, packetId, properties, payload: p.body.subarray(o) }
}

/** The packet id of PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK/UNSUBACK. */
export function decodePacketId(p: Packet): number {
  return p.body.readUInt16BE(0)
}

/** The v5 reason code of PUBACK/PUBREC/PUBREL/PUBCOMP (0 when omitted, [MQTT-3.4.2.1]). */
export function decodeAckReason(p: Packet): number {
  return p.body.length > 2 ? p.body.readUInt8(2) : 0
}

/** SUBACK return codes (v3/v4) or reason codes (v5), one per filter. */
export function decodeSuback(p: Packet, version: Version): number[] {
  let o = 2
  if (version === 5) o = decodeProperties(p.body, 2)[1]
  return [...p.body.subarray(o)]
}

// --- the client -----------------------------------------------------------------------------

export class RawMqtt {
  readonly socket: Socket
  readonly version: Version
  /** Every byte the server sent, in order. */
  readonly received: Buffer[] = []
  #pending: Buffer = Buffer.alloc(0)
  #packets: Packet[] = []
  #wakers: (() => void)[] = []
  #closed = false
  #closedAt = 0
  #closedPromise: Promise<void>
  #malformed = false

  private constructor(socket: Socket, version: Version) {
    this.socket = socket
    this.version = version
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk)
      this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
      this.#parse()
      this.#wake()
    })
    this.#closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.#closed = true
        this.#closedAt = Date.now()
        this.#wake()
        resolve()
      })
    })
    // A reset by the server is an expected outcome in these tests, not a crash.
    socket.on('error', () => {})
  }

  static open(port: number, version: Version = 4, host = '127.0.0.1'): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host })
      socket.setNoDelay(true)
      socket.once('connect', () => resolve(new RawMqtt(socket, version)))
      socket.once('error', reject)
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Date.now() when the socket closed (0 while open). */
  get closedAt(): number {
    return this.#closedAt
  }

  /** True once the server sent bytes that do not parse as MQTT packets. */
  get malformed(): boolean {
    return this.#malformed
  }

  /** Packets received and not yet taken by next(). */
  get queued(): readonly Packet[] {
    return this.#packets
  }

  /** Removes and returns every queued packet of `type`, leaving the others in order. */
  takeAll(type: number): Packet[] {
    const taken = this.#packets.filter((p) => p.type === type)
    this.#packets = this.#packets.filter((p) => p.type !== type)
    return taken
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Closes our end without any MQTT goodbye (an abnormal disconnect for the server). */
  destroy(): void {
    this.socket.destroy()
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

  /** The next packet; rejects on close or after `timeout` ms. */
  async next(timeout = 3000): Promise<Packet> {
    const deadline = Date.now() + timeout
    for (;;) {
      const p = this.#packets.shift()
      if (p) return p
      if (this.#closed) throw new Error('socket closed before the next packet arrived')
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no packet within ${timeout} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#wakers.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Awaits a packet of `type`, failing on anything else. */
  async expect(type: number, timeout = 3000): Promise<Packet> {
    const p = await this.next(timeout)
    if (p.type !== type) {
      const detail = p.type === DISCONNECT ? ` (reason 0x${decodeDisconnect(p).toString(16)})` : ''
      throw new Error(`expected ${typeName(type)}, got ${typeName(p.type)}${detail}`)
    }
    return p
  }

  /**
   * The server's reaction to bad input once connected: for v5 a DISCONNECT carrying a reason code
   * ([MQTT-4.13.1-1]) and then the close; for v3/v4, which have no server DISCONNECT, the close
   * with nothing sent. Returns the v5 reason code (undefined for v3/v4).
   */
  async expectDisconnect(timeout = 3000): Promise<number | undefined> {
    if (this.version === 5) {
      const p = await this.expect(DISCONNECT, timeout)
      await this.waitClosed(timeout)
      return decodeDisconnect(p)
    }
    await this.waitClosed(timeout)
    const extra = this.#packets.map((p) => typeName(p.type))
    if (extra.length > 0) throw new Error(`expected a silent close, got ${extra.join(', ')}`)
    return undefined
  }

  /**
   * Sends CONNECT (this client's version and guest/guest unless given) and returns the CONNACK.
   * Pass `username: undefined` to send no credentials.
   */
  async connect(opts: ConnectOptions = {}): Promise<Connack> {
    const version = opts.version ?? this.version
    const auth = 'username' in opts ? {} : { username: 'guest', password: 'guest' }
    this.write(connectPacket({ ...auth, ...opts, version }))
    return decodeConnack(await this.expect(CONNACK), version)
  }

  /** SUBSCRIBE and await the SUBACK; returns its codes. */
  async subscribe(packetId: number, filters: { filter: string; qos?: number; options?: number }[], properties?: Buffer): Promise<number[]> {
    this.write(subscribePacket(packetId, filters, { version: this.version, properties }))
    const suback = await this.expect(SUBACK)
    if (decodePacketId(suback) !== packetId) throw new Error(`SUBACK for packet id ${decodePacketId(suback)}, expected ${packetId}`)
    return decodeSuback(suback, this.version)
  }

  /**
   * Awaits the first packet of `type`, leaving packets of other types queued in order (unlike
   * expect(), which fails on them). Rejects on close or after `timeout` ms.
   */
  async find(type: number, timeout = 3000): Promise<Packet> {
    const deadline = Date.now() + timeout
    for (;;) {
      const i = this.#packets.findIndex((p) => p.type === type)
      if (i >= 0) return this.#packets.splice(i, 1)[0]!
      if (this.#closed) throw new Error(`socket closed before ${typeName(type)} arrived`)
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no ${typeName(type)} within ${timeout} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#wakers.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /**
   * PINGREQ and await the PINGRESP: a round trip proving that everything the server wrote before
   * it has arrived. Other packets stay queued.
   */
  async ping(timeout = 3000): Promise<void> {
    this.write(pingreqPacket())
    await this.find(PINGRESP, timeout)
  }

  #parse(): void {
    // Bounded: every iteration consumes one whole packet or stops.
    for (;;) {
      const buf = this.#pending
      if (buf.length < 2) return
      let length = 0
      let multiplier = 1
      let headerLength = 0
      for (let i = 1; i <= 4; i++) {
        if (i >= buf.length) return
        const byte = buf.readUInt8(i)
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) {
          headerLength = i + 1
          break
        }
      }
      if (headerLength === 0) {
        this.#malformed = true
        this.#pending = Buffer.alloc(0)
        return
      }
      if (buf.length < headerLength + length) return
      const first = buf.readUInt8(0)
      this.#packets.push({ type: first >> 4, flags: first & 0x0f, body: buf.subarray(headerLength, headerLength + length) })
      this.#pending = buf.subarray(headerLength + length)
    }
  }

  #wake(): void {
    const wakers = this.#wakers
    this.#wakers = []
    for (const wake of wakers) wake()
  }
}
