/**
 * Decoding: the per-message packets (PUBLISH without v5 properties, PUBACK, PUBREC, PUBREL,
 * PUBCOMP, PINGREQ) by hand, everything else with mqtt-packet. The hand-written path exists for
 * throughput: mqtt-packet spends most of its time on its buffer list and debug hooks, and these
 * packets are almost all of the traffic. It checks the same fixed-header rules; anything
 * unusual goes to mqtt-packet, which has the final word on errors.
 *
 * The reader (packet_reader.ts) hands over whole packets only, so a
 * parser never keeps state from one packet to the next, except its `settings`: after a CONNECT
 * it parses with that CONNECT's protocol level (v5 properties or not). We set `settings` on every
 * call, which lets the connections share one parser instead of keeping one each: a parser with
 * its buffer-list stream and emitter costs about 2.7 KiB, a quarter of an idle connection's
 * budget (10,000 idle connections must stay under 10 KiB each).
 *
 * Runs on the read path and is never re-entered: parse() emits synchronously and handlers never
 * parse another connection's bytes.
 *
 * mqtt-packet accepts a v5 property given twice (it keeps both in an array, or the second when the
 * first is 0); that is a Protocol Error (MQTT 5.0 section 2.2.2.2) except for User Property. Every
 * non-empty property block it parses is checked here (`DuplicatePropertyError`); packets without
 * properties cost nothing more.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import mqttPacket, { type Packet, type Parser } from 'mqtt-packet'
import { bodyOffset } from './packet_reader.ts'

/** Receives the outcome of one parse. */
export interface ParseSink {
  packet(packet: Packet): void
  error(error: Error): void
}

/** mqtt-packet reads `protocolVersion` (v5 properties, CONNACK layout) from its settings. */
const SETTINGS = {
  connect: {},
  3: { protocolVersion: 3 },
  4: { protocolVersion: 4 },
  5: { protocolVersion: 5 },
} as const

type SharedParser = Parser & {
  settings: object
  error: Error | null
  _pos: number
  _resetState(): void
  _parseProperties(): object | false
  _emitError(error: Error): void
}

/** A v5 property other than User Property appears twice: a Protocol Error, not a malformed packet. */
export class DuplicatePropertyError extends Error {
  readonly property: number

  constructor(property: number) {
    super(`property 0x${property.toString(16).padStart(2, '0')} included more than once`)
    this.name = 'DuplicatePropertyError'
    this.property = property
  }
}

const USER_PROPERTY = 0x26
/**
 * Value sizes by property identifier (MQTT 5.0 section 2.2.2.2): bytes for fixed sizes, VAR for
 * a Variable Byte Integer, STRING for a two-byte length and data (UTF-8 string, binary data),
 * PAIR for two strings; 0 for identifiers that do not exist.
 */
const VAR = -1
const STRING = -2
const PAIR = -3
const PROPERTY_SIZE = new Int8Array(64)
for (const id of [0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]) PROPERTY_SIZE[id] = 1
for (const id of [0x13, 0x21, 0x22, 0x23]) PROPERTY_SIZE[id] = 2
for (const id of [0x02, 0x11, 0x18, 0x27]) PROPERTY_SIZE[id] = 4
for (const id of [0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f]) PROPERTY_SIZE[id] = STRING
PROPERTY_SIZE[0x0b] = VAR
PROPERTY_SIZE[USER_PROPERTY] = PAIR

/**
 * The first property identifier that appears twice in the property block raw[start, end) (its
 * length included), or 0. Only User Property may repeat: a client never sends the other
 * repeatable one, Subscription Identifier, more than once in a packet. Bounded by the block.
 */
export function repeatedProperty(raw: Uint8Array, start: number, end: number): number {
  let pos = start
  // The block's length, a Variable Byte Integer of at most four bytes.
  for (let i = 0; i < 4 && pos < end; i++) if ((raw[pos++]! & 0x80) === 0) break
  let low = 0
  let high = 0
  while (pos < end) {
    const id = raw[pos++]!
    const size = id < 64 ? PROPERTY_SIZE[id]! : 0
    if (size === 0) return 0
    if (id !== USER_PROPERTY) {
      const bit = 1 << (id & 31)
      if (id < 32) {
        if ((low & bit) !== 0) return id
        low |= bit
      } else {
        if ((high & bit) !== 0) return id
        high |= bit
      }
    }
    if (size > 0) pos += size
    else if (size === VAR) {
      for (let i = 0; i < 4 && pos < end; i++) if ((raw[pos++]! & 0x80) === 0) break
    } else {
      pos += 2 + ((raw[pos]! << 8) | raw[pos + 1]!)
      if (size === PAIR) pos += 2 + ((raw[pos]! << 8) | raw[pos + 1]!)
    }
  }
  return 0
}

let parser: SharedParser | undefined
/** The connection being parsed for, and whether it got its answer. */
let target: ParseSink | undefined
let answered = false
/** The packet being parsed and where its body starts (mqtt-packet's positions count from there). */
const EMPTY = new Uint8Array(0)
let parsing: Uint8Array = EMPTY
let bodyAt = 0

function sharedParser(): SharedParser {
  if (parser !== undefined) return parser
  const p = mqttPacket.parser() as SharedParser
  const parseProperties = p._parseProperties
  p._parseProperties = function (this: SharedParser) {
    const start = this._pos
    const properties = parseProperties.call(this)
    // An empty block is its one length byte.
    if (properties !== false && this.error === null && this._pos - start > 1) {
      const id = repeatedProperty(parsing, bodyAt + start, bodyAt + this._pos)
      if (id !== 0) {
        this._emitError(new DuplicatePropertyError(id))
        return false
      }
    }
    return properties
  }
  p.on('packet', (packet: Packet) => {
    if (target === undefined || answered) return
    answered = true
    target.packet(packet)
  })
  p.on('error', (error: Error) => {
    if (target === undefined || answered) return
    answered = true
    target.error(error)
  })
  parser = p
  return p
}

const ACK_CMD = { 0x40: 'puback', 0x50: 'pubrec', 0x62: 'pubrel', 0x70: 'pubcomp' } as const

/**
 * The hand-written path: a whole packet of a connected client, or undefined to let mqtt-packet
 * decide (v5 properties, reason codes, anything malformed). The objects have mqtt-packet's shape.
 */
export function decodeFast(bytes: Uint8Array, version: 3 | 4 | 5): Packet | undefined {
  const first = bytes[0]!
  const type = first >> 4
  // Fixed header: 1 type byte + 1..4 length bytes.
  let at = 1
  let remaining = 0
  let multiplier = 1
  for (; at < 5; at++) {
    const b = bytes[at]!
    remaining += (b & 0x7f) * multiplier
    if ((b & 0x80) === 0) break
    multiplier *= 128
  }
  at++
  if (type === 3) {
    const qos = (first >> 1) & 3
    if (qos === 3) return undefined
    const end = at + remaining
    const topicLength = (bytes[at]! << 8) | bytes[at + 1]!
    let pos = at + 2 + topicLength
    let messageId: number | undefined
    if (qos > 0) {
      messageId = (bytes[pos]! << 8) | bytes[pos + 1]!
      pos += 2
    }
    if (version === 5) {
      // Properties: the fast path takes only an empty property list.
      if (bytes[pos] !== 0) return undefined
      pos++
    }
    if (pos > end) return undefined
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
    // Lenient decoding, as mqtt-packet's: handlePublish checks the raw bytes are valid UTF-8.
    const topic = view.toString('utf8', at + 2, at + 2 + topicLength)
    return {
      cmd: 'publish',
      qos: qos as 0 | 1 | 2,
      dup: (first & 8) !== 0,
      retain: (first & 1) !== 0,
      topic,
      messageId,
      payload: view.subarray(pos, end),
      length: remaining,
    }
  }
  if (remaining === 2 && at + 2 === bytes.length) {
    const cmd = ACK_CMD[first as keyof typeof ACK_CMD]
    if (cmd !== undefined) {
      const packet = { cmd, messageId: (bytes[at]! << 8) | bytes[at + 1]!, length: 2 } as Packet & { reasonCode?: number }
      if (version === 5) packet.reasonCode = 0
      return packet
    }
    return undefined
  }
  if (first === 0xc0 && remaining === 0) return { cmd: 'pingreq' }
  // An AUTH of Remaining Length 0 means reason 0x00, no properties (MQTT 5.0 3.15.2.1);
  // mqtt-packet refuses it as malformed.
  if (first === 0xf0 && remaining === 0 && version === 5) return { cmd: 'auth', reasonCode: 0 }
  return undefined
}

/**
 * Decodes one whole packet; `version` is undefined before CONNECT. Calls `to.packet` or
 * `to.error` exactly once. Hot path.
 */
export function parsePacket(bytes: Uint8Array, version: 3 | 4 | 5 | undefined, to: ParseSink): void {
  if (version !== undefined && bytes.length >= 2) {
    const fast = decodeFast(bytes, version)
    if (fast !== undefined) return to.packet(fast)
  }
  const p = sharedParser()
  p.settings = version === undefined ? SETTINGS.connect : SETTINGS[version]
  target = to
  answered = false
  parsing = bytes
  bodyAt = bodyOffset(bytes)
  let clean = false
  try {
    p.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    clean = p.error === null
  } finally {
    target = undefined
    parsing = EMPTY
    // A parse error or a throwing handler leaves the parser mid-packet: reset it for the next one
    // (_resetState leaves the read position behind, which the length parser would start from).
    if (!clean) {
      p._resetState()
      p._pos = 0
    }
  }
  if (!answered) to.error(new Error('Incomplete packet'))
}
