/**
 * MQTT reason codes (v5 section 2.4) and v3.1/3.1.1 CONNACK return codes, and the one table from
 * the core's neutral errors to them. Faults are logged here, once per kind, so a misbehaving
 * client cannot flood the log.
 *
 * @module
 */
import { BrokerError, type ErrorCode } from '../../src/api.ts'
import { log, logOnce } from '../../src/log.ts'

export const RC = {
  SUCCESS: 0x00,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_ID_NOT_VALID: 0x85,
  BAD_USERNAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_ID_IN_USE: 0x91,
  PACKET_ID_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  QOS_NOT_SUPPORTED: 0x9b,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
} as const

/** v3.1 / v3.1.1 CONNACK return codes. */
export const CONNACK_V3 = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const

/** v3.1.1 SUBACK failure. */
export const SUBACK_FAILURE = 0x80

const BY_ERROR: Record<ErrorCode, number> = {
  'not-found': RC.UNSPECIFIED,
  'access-refused': RC.NOT_AUTHORIZED,
  'resource-locked': RC.UNSPECIFIED,
  'precondition-failed': RC.IMPLEMENTATION_SPECIFIC,
  'resource-error': RC.QUOTA_EXCEEDED,
  'not-allowed': RC.NOT_AUTHORIZED,
  'command-invalid': RC.PROTOCOL_ERROR,
  'invalid-argument': RC.IMPLEMENTATION_SPECIFIC,
  'not-implemented': RC.IMPLEMENTATION_SPECIFIC,
  'connection-forced': RC.SERVER_SHUTTING_DOWN,
  internal: RC.UNSPECIFIED,
}

/** A v5 CONNACK refusal as a v3 return code. */
export function connackV3(reason: number): number {
  switch (reason) {
    case RC.UNSUPPORTED_PROTOCOL_VERSION:
      return CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION
    case RC.CLIENT_ID_NOT_VALID:
      return CONNACK_V3.IDENTIFIER_REJECTED
    case RC.BAD_USERNAME_OR_PASSWORD:
    case RC.BAD_AUTHENTICATION_METHOD:
      return CONNACK_V3.BAD_USERNAME_OR_PASSWORD
    case RC.NOT_AUTHORIZED:
      return CONNACK_V3.NOT_AUTHORIZED
    default:
      return CONNACK_V3.SERVER_UNAVAILABLE
  }
}

/**
 * The v5 reason code for an error of the core (anything else is an adapter bug: logged with its
 * stack, 0x80). Logs once per code and context.
 */
export function reasonFor(error: unknown, context: string, logContext: Record<string, unknown>): number {
  if (!(error instanceof BrokerError)) {
    log.error(`MQTT adapter bug while handling ${context}`, { ...logContext, error: String((error as Error)?.stack ?? error) })
    return RC.UNSPECIFIED
  }
  const reason = BY_ERROR[error.code] ?? RC.UNSPECIFIED
  logOnce(`mqtt:${context}:${error.code}`, 'warn', `MQTT ${context} refused: ${error.message}`, { ...logContext, reason })
  return reason
}

/**
 * CONNECT refused by the core: a bad login is 0x86 (v3: 4), the loopback-only rule, vhost access
 * and the connection limit are 0x87 / 0x97 (v3: 5 / 3).
 */
export function connectRefusal(error: unknown, logContext: Record<string, unknown>): number {
  if (error instanceof BrokerError) {
    if (error.code === 'access-refused') {
      logOnce(`mqtt:login:${String(logContext.remote)}`, 'warn', `MQTT login refused: ${error.message}`, logContext)
      return error.message.includes('invalid credentials') ? RC.BAD_USERNAME_OR_PASSWORD : RC.NOT_AUTHORIZED
    }
    if (error.code === 'not-allowed' && error.message.includes('connection limit')) {
      logOnce('mqtt:connection-limit', 'warn', `MQTT connection refused: ${error.message}`, logContext)
      return RC.QUOTA_EXCEEDED
    }
  }
  return reasonFor(error, 'CONNECT', logContext)
}

/** Logs a protocol fault of the client once per kind. */
export function logFault(kind: string, message: string, logContext: Record<string, unknown>): void {
  logOnce(`mqtt:fault:${kind}`, 'warn', message, logContext)
}
