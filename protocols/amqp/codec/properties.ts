/**
 * Content header frames ↔ api.MessageProperties (the 14 basic properties).
 *
 * @module
 */
import type { MessageProperties } from '../../../src/api.ts'
import { ClassId, decodeBasicProperties, ReplyCode } from '../spec/generated.ts'
import { AmqpError, erlangBinary } from './errors.ts'
import { DecodeFailure, u16, u64 } from './primitives.ts'

export interface ContentHeader {
  classId: number
  /** Unused by AMQP 0-9-1 and must be 0; RabbitMQ treats a non-zero weight as an unexpected frame. */
  weight: number
  /** Exact below 2^53; the adapter compares it with the broker's maximum message size. */
  bodySize: number
  properties: MessageProperties
}

/**
 * Decodes a content header payload: class id, weight, body size, property flags and properties.
 * Only the basic class carries content; for any other class id the properties are left
 * undecoded (empty) so the adapter can report the class mismatch as RabbitMQ does (505).
 * Throws AmqpError 502 SYNTAX_ERROR when the payload does not hold what its flags announce.
 */
export function decodeContentHeader(payload: Uint8Array): ContentHeader {
  if (payload.length < 14) {
    throw new AmqpError(ReplyCode.SYNTAX_ERROR, `malformed content header: ${erlangBinary(payload, 'w')}`)
  }
  const classId = u16(payload, 0)
  const weight = u16(payload, 2)
  const bodySize = u64(payload, 4)
  if (classId !== ClassId.BASIC) return { classId, weight, bodySize, properties: {} }
  try {
    return { classId, weight, bodySize, properties: decodeBasicProperties(payload, 12, payload.length) }
  } catch (error) {
    if (!(error instanceof DecodeFailure)) throw error
    const flags = erlangBinary(payload.subarray(12, 14), 'w')
    throw new AmqpError(ReplyCode.SYNTAX_ERROR, `malformed content header properties (flags ${flags})`)
  }
}
