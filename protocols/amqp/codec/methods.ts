/**
 * Method frame payloads ↔ typed arguments, driven by the generated tables.
 *
 * @module
 */
import {
  METHOD_BY_ID,
  METHODS,
  type MethodArgs,
  type MethodName,
  type MethodSpec,
  ReplyCode,
} from '../spec/generated.ts'
import { AmqpError, erlangBinary } from './errors.ts'
import { DecodeFailure } from './primitives.ts'

export type { EncodeArgs, MethodArgs, MethodName, MethodSpec } from '../spec/generated.ts'

/**
 * A decoded method. Without a type argument it is the union over all methods, so
 * `switch (m.name)` narrows `m.args`.
 */
export type DecodedMethod<N extends MethodName = MethodName> = {
  [K in N]: { name: K; classId: number; methodId: number; args: MethodArgs[K] }
}[N]

/**
 * payload = the method frame payload (class id, method id, args). Called on the read path.
 * Throws AmqpError (connection scope) as RabbitMQ closes: an unknown method 540 NOT_IMPLEMENTED;
 * arguments that do not fit the method's layout (short, trailing bytes, a length past the end)
 * 501 FRAME_ERROR "cannot decode <<…>>", as rabbit_framing does; a shortstr of a non-content
 * method that is not UTF-8 501 "Malformed UTF-8 in shortstr"; a malformed field table 502
 * SYNTAX_ERROR. Errors carry the method's class and method id.
 */
export function decodeMethod(payload: Uint8Array): DecodedMethod {
  const end = payload.length
  if (end < 4) {
    throw new AmqpError(ReplyCode.FRAME_ERROR, `type 1, all octets = ${erlangBinary(payload, 'p')}: unknown_frame`)
  }
  const classId = (payload[0]! << 8) | payload[1]!
  const methodId = (payload[2]! << 8) | payload[3]!
  const spec = METHOD_BY_ID.get((classId << 16) | methodId)
  if (spec === undefined) {
    // RabbitMQ's reader exits on {unknown_method_id, Id} and drops the socket; a close with a
    // reply code tells the client more.
    throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, `unknown method {${classId},${methodId}}`, { classId, methodId })
  }
  try {
    return { name: spec.name, classId, methodId, args: spec.decode(payload, 4, end) } as DecodedMethod
  } catch (error) {
    throw decodeError(error, payload, classId, methodId)
  }
}

function decodeError(error: unknown, payload: Uint8Array, classId: number, methodId: number): unknown {
  const ids = { classId, methodId }
  if (error instanceof AmqpError) return new AmqpError(error.replyCode, error.message, ids)
  if (!(error instanceof DecodeFailure)) return error
  if (error.reason === 'utf8') return new AmqpError(ReplyCode.FRAME_ERROR, 'Malformed UTF-8 in shortstr', ids)
  return new AmqpError(ReplyCode.FRAME_ERROR, `cannot decode ${erlangBinary(payload.subarray(4), 'w')}`, ids)
}

/** The class and method id of a method name. */
export function methodIds(name: MethodName): { classId: number; methodId: number } {
  const spec: MethodSpec = METHODS[name]
  return { classId: spec.classId, methodId: spec.methodId }
}

/** The spec entry of a method: ids, whether content follows, whether it expects a reply. */
export function methodSpec<N extends MethodName>(name: N): MethodSpec<N> {
  return METHODS[name] as MethodSpec<N>
}
