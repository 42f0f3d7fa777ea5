/**
 * Read helpers for the generated method decoders, the field-table and the property decoders.
 * Callers check bounds first; these helpers never read past `o + n`.
 *
 * @module
 */

/**
 * Why a generated decoder gave up. Thrown as a preallocated value (no stack capture) and turned
 * into an AmqpError with the method's ids by `decodeMethod`, which knows the payload.
 */
export class DecodeFailure {
  readonly reason: 'malformed' | 'utf8'

  constructor(reason: 'malformed' | 'utf8') {
    this.reason = reason
  }
}

/** The arguments do not match the method's layout (too short, too long, length past the end). */
export const MALFORMED = new DecodeFailure('malformed')
/** A shortstr of a non-content method is not UTF-8 (RabbitMQ checks these). */
export const BAD_UTF8 = new DecodeFailure('utf8')

const lenient = new TextDecoder('utf-8')
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!
}

export function u32(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
}

/** An unsigned 64-bit value as a number; exact below 2^53 (delivery tags, body sizes). */
export function u64(b: Uint8Array, o: number): number {
  return u32(b, o) * 0x100000000 + u32(b, o + 4)
}

/**
 * Decodes `n` bytes at `o` as UTF-8; `strict` makes malformed UTF-8 throw BAD_UTF8. Always a
 * TextDecoder: building short ASCII strings by concatenation is quicker to decode but yields
 * rope strings that cost more when used as map keys (exchange and queue lookups), measured.
 */
export function readString(b: Uint8Array, o: number, n: number, strict: boolean): string {
  if (n === 0) return ''
  const slice = b.subarray(o, o + n)
  if (!strict) return lenient.decode(slice)
  try {
    return strictUtf8.decode(slice)
  } catch {
    throw BAD_UTF8
  }
}
