/**
 * Decoding with mqtt-packet. The reader (packet_reader.ts) hands over whole packets only, so a
 * parser never keeps state from one packet to the next, except its `settings`: after a CONNECT
 * it parses with that CONNECT's protocol level (v5 properties or not). We set `settings` on every
 * call, which lets the connections share one parser instead of keeping one each: a parser with
 * its buffer-list stream and emitter costs about 2.7 KiB, a quarter of an idle connection's
 * budget (10,000 idle connections must stay under 10 KiB each).
 *
 * Runs on the read path and is never re-entered: parse() emits synchronously and handlers never
 * parse another connection's bytes.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import mqttPacket, { type Packet, type Parser } from 'mqtt-packet'

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

type SharedParser = Parser & { settings: object; error: Error | null; _pos: number; _resetState(): void }

let parser: SharedParser | undefined
/** The connection being parsed for, and whether it got its answer. */
let target: ParseSink | undefined
let answered = false

function sharedParser(): SharedParser {
  if (parser !== undefined) return parser
  const p = mqttPacket.parser() as SharedParser
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

/**
 * Decodes one whole packet; `version` is undefined before CONNECT. Calls `to.packet` or
 * `to.error` exactly once. Hot path: allocates only the Buffer view and what mqtt-packet does.
 */
export function parsePacket(bytes: Uint8Array, version: 3 | 4 | 5 | undefined, to: ParseSink): void {
  const p = sharedParser()
  p.settings = version === undefined ? SETTINGS.connect : SETTINGS[version]
  target = to
  answered = false
  let clean = false
  try {
    p.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    clean = p.error === null
  } finally {
    target = undefined
    // A parse error or a throwing handler leaves the parser mid-packet: reset it for the next one
    // (_resetState leaves the read position behind, which the length parser would start from).
    if (!clean) {
      p._resetState()
      p._pos = 0
    }
  }
  if (!answered) to.error(new Error('Incomplete packet'))
}
