/**
 * The codec's one error type, carrying what a connection.close / channel.close needs.
 *
 * @module
 */
import { ReplyScope } from '../spec/generated.ts'

/**
 * A protocol error found while reading frames or decoding a method. `message` is the detail text
 * in RabbitMQ's wording, without the "NAME - " prefix (the adapter adds it from `replyCode`).
 */
export class AmqpError extends Error {
  /** An AMQP reply code (`ReplyCode` in spec/generated.ts). */
  replyCode: number
  /** The failing method's class and method id, 0 when no method is involved (frame errors). */
  classId: number
  methodId: number
  /** Hard errors (5xx, 320, 402) close the connection; soft errors only the channel. */
  scope: 'connection' | 'channel'

  constructor(
    replyCode: number,
    message: string,
    options?: { classId?: number; methodId?: number; scope?: 'connection' | 'channel' },
  ) {
    super(message)
    this.name = 'AmqpError'
    this.replyCode = replyCode
    this.classId = options?.classId ?? 0
    this.methodId = options?.methodId ?? 0
    this.scope = options?.scope ?? ReplyScope[replyCode] ?? 'connection'
  }
}

/** Printable ASCII other than the quote and backslash, which Erlang escapes. */
function isPlain(c: number): boolean {
  return c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c
}

/** Octets shown in error texts: 48 of up to 4 characters ("255,") keep a reply text under 255. */
const SHOWN = 48

/**
 * Renders bytes the way RabbitMQ's error texts show binaries: `~w` always lists the octets
 * (`<<1,2,3>>`), `~tp` shows a printable binary as a string (`<<"abc">>`). Stops after 48
 * octets with "..." so the reply text stays within a shortstr.
 */
export function erlangBinary(bytes: Uint8Array, format: 'w' | 'p'): string {
  const shown = bytes.length > SHOWN ? bytes.subarray(0, SHOWN) : bytes
  const more = bytes.length > SHOWN ? '...' : ''
  if (format === 'p' && shown.length > 0 && shown.every(isPlain)) {
    return `<<"${String.fromCharCode(...shown)}${more}">>`
  }
  return `<<${shown.join(',')}${more}>>`
}

/**
 * RabbitMQ's payload snippet in frame errors: "all octets = <<…>>" up to 16 octets, else
 * "first 16 octets = <<…>>".
 */
export function payloadSnippet(payload: Uint8Array): string {
  const which = payload.length <= 16 ? 'all' : 'first 16'
  return `${which} octets = ${erlangBinary(payload.subarray(0, 16), 'p')}`
}
