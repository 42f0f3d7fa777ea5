/**
 * The one table from Warren's neutral errors to AMQP reply codes, and the one place that logs a
 * client fault (once per kind, so a misbehaving client cannot flood the log).
 *
 * Scope follows RabbitMQ: a hard reply code (5xx, 320, 402) always closes the connection even when
 * the core raised it for a session, as `rabbit_binary_generator:map_exception` does; a soft code
 * closes only the channel unless the core asked for the connection.
 *
 * @module
 */
import { BrokerError, type ErrorCode } from '../../src/api.ts'
import { log, logOnce } from '../../src/log.ts'
import { AmqpError } from './codec/errors.ts'
import { ReplyCode, ReplyName, ReplyScope } from './spec/generated.ts'

const CODES: Record<ErrorCode, number> = {
  'not-found': ReplyCode.NOT_FOUND,
  'access-refused': ReplyCode.ACCESS_REFUSED,
  'resource-locked': ReplyCode.RESOURCE_LOCKED,
  'precondition-failed': ReplyCode.PRECONDITION_FAILED,
  'resource-error': ReplyCode.RESOURCE_ERROR,
  'not-allowed': ReplyCode.NOT_ALLOWED,
  'command-invalid': ReplyCode.COMMAND_INVALID,
  'invalid-argument': ReplyCode.PRECONDITION_FAILED,
  'not-implemented': ReplyCode.NOT_IMPLEMENTED,
  'connection-forced': ReplyCode.CONNECTION_FORCED,
  internal: ReplyCode.INTERNAL_ERROR,
}

/** Everything a channel.close or connection.close carries. */
export interface CloseReason {
  replyCode: number
  /** "<NAME> - <detail>", cut to the 255 bytes a shortstr holds. */
  replyText: string
  classId: number
  methodId: number
  scope: 'connection' | 'channel'
}

const encoder = new TextEncoder()
const SHORTSTR_MAX = 255

/** "NOT_FOUND - no queue 'q' in vhost '/'", cut to a shortstr on a character boundary. */
export function replyText(replyCode: number, detail: string): string {
  const text = `${ReplyName[replyCode] ?? 'INTERNAL_ERROR'} - ${detail}`
  if (encoder.encode(text).length <= SHORTSTR_MAX) return text
  let cut = text.slice(0, SHORTSTR_MAX)
  // Bounded: each pass drops one UTF-16 unit from at most 255.
  while (encoder.encode(cut).length > SHORTSTR_MAX) cut = cut.slice(0, -1)
  return cut
}

function isHard(replyCode: number): boolean {
  return ReplyScope[replyCode] !== 'channel'
}

/**
 * Maps any error thrown while handling a method (BrokerError from the core, AmqpError from the
 * codec or the adapter, anything else is a bug: 541) to the close it causes, and logs it once.
 * `classId`/`methodId` name the failing method when the error itself does not.
 */
export function closeReasonFor(error: unknown, classId: number, methodId: number, logContext: Record<string, unknown>): CloseReason {
  let reason: CloseReason
  if (error instanceof BrokerError) {
    const replyCode = CODES[error.code] ?? ReplyCode.INTERNAL_ERROR
    const scope = error.scope === 'connection' || isHard(replyCode) ? 'connection' : 'channel'
    reason = { replyCode, replyText: replyText(replyCode, error.message), classId, methodId, scope }
  } else if (error instanceof AmqpError) {
    reason = {
      replyCode: error.replyCode,
      replyText: replyText(error.replyCode, error.message),
      classId: error.classId || classId,
      methodId: error.classId ? error.methodId : methodId,
      scope: error.scope === 'connection' || isHard(error.replyCode) ? 'connection' : 'channel',
    }
  } else {
    log.error('AMQP adapter bug while handling a method', { ...logContext, classId, methodId, error: String((error as Error)?.stack ?? error) })
    const detail = error instanceof Error ? error.message : String(error)
    return { replyCode: ReplyCode.INTERNAL_ERROR, replyText: replyText(ReplyCode.INTERNAL_ERROR, detail), classId, methodId, scope: 'connection' }
  }
  logOnce(`amqp:${reason.replyCode}:${reason.classId}.${reason.methodId}`, 'warn', `AMQP ${reason.scope} error: ${reason.replyText}`, {
    ...logContext,
    replyCode: reason.replyCode,
    classId: reason.classId,
    methodId: reason.methodId,
  })
  return reason
}
