/**
 * The pure steps of the AMQP handshake, in rabbit_reader's words: protocol header check, client
 * capabilities, SASL login and tune-ok negotiation. connection.ts sequences them.
 *
 * @module
 */
import { BrokerError, type AuthenticatedUser, type Broker, type Table } from '../../src/api.ts'
import { parseSaslResponse } from './auth.ts'
import { AmqpError } from './codec/errors.ts'
import type { MethodArgs } from './codec/methods.ts'
import { FRAME_MIN_SIZE, ReplyCode } from './spec/generated.ts'

/** A channel_max of 0 means "no limit": the 16-bit id space. */
const CHANNEL_ID_MAX = 65535
const START_OK = { classId: 10, methodId: 11 }
/** RabbitMQ reports negotiation failures against connection.tune. */
const TUNE = { classId: 10, methodId: 30 }

/** "AMQP" 0 0 9 1, or the 0-9 header (1 1 0 9) that RabbitMQ treats as 0-9-1. */
export function isAmqp091Header(h: Uint8Array): boolean {
  if (h[0] !== 0x41 || h[1] !== 0x4d || h[2] !== 0x51 || h[3] !== 0x50) return false
  return (h[4] === 0 && h[5] === 0 && h[6] === 9 && h[7] === 1) || (h[4] === 1 && h[5] === 1 && h[6] === 0 && h[7] === 9)
}

export interface ClientCapabilities {
  consumerCancelNotify: boolean
  connectionBlocked: boolean
  authenticationFailureClose: boolean
}

/** client-properties.capabilities; a missing or malformed table means none. */
export function clientCapabilities(clientProperties: Table): ClientCapabilities {
  const value = clientProperties.capabilities
  const caps: Table =
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) && !(value instanceof Date)
      ? (value as Table)
      : {}
  return {
    consumerCancelNotify: caps.consumer_cancel_notify === true,
    connectionBlocked: caps['connection.blocked'] === true,
    authenticationFailureClose: caps.authentication_failure_close === true,
  }
}

export type LoginResult = { user: AuthenticatedUser } | { refused: string; username: string }

/**
 * Checks start-ok's credentials. A malformed response or unknown mechanism throws AmqpError
 * (502 / 503); wrong credentials return `refused` with the broker's reason (for the log only).
 */
export function login(broker: Broker, args: MethodArgs['connection.start-ok'], remoteAddress: string): LoginResult {
  const credentials = parseSaslResponse(args.mechanism, args.response)
  if (credentials === undefined) {
    throw new AmqpError(ReplyCode.COMMAND_INVALID, `unknown authentication mechanism '${args.mechanism}'`, START_OK)
  }
  if (typeof credentials === 'string') throw new AmqpError(ReplyCode.SYNTAX_ERROR, credentials, START_OK)
  try {
    return { user: broker.authenticate({ ...credentials, remoteAddress }) }
  } catch (error) {
    if (!(error instanceof BrokerError) || error.code !== 'access-refused') throw error
    return { refused: error.message, username: credentials.username }
  }
}

/** The close a refused login gets: a safe text that names only the mechanism, as RabbitMQ's. */
export function loginRefused(mechanism: string): AmqpError {
  const detail = `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`
  return new AmqpError(ReplyCode.ACCESS_REFUSED, detail, { scope: 'connection' })
}

/**
 * rabbit_reader:validate_negotiated_integer_value: the client may lower the server's limits but
 * not raise them, and frame_max has a floor of 4096 (530 NOT_ALLOWED otherwise). Unlike RabbitMQ,
 * a client 0 takes the server's value instead of failing.
 */
export function negotiateTune(
  server: { frameMax: number; channelMax: number },
  client: MethodArgs['connection.tune-ok'],
): { frameMax: number; channelMax: number } {
  const notAllowed = (detail: string) => new AmqpError(ReplyCode.NOT_ALLOWED, `negotiated ${detail}`, TUNE)
  if (client.frameMax !== 0 && client.frameMax < FRAME_MIN_SIZE) {
    throw notAllowed(`frame_max = ${client.frameMax} is lower than the minimum allowed value (${FRAME_MIN_SIZE})`)
  }
  if (server.frameMax !== 0 && client.frameMax > server.frameMax) {
    throw notAllowed(`frame_max = ${client.frameMax} is higher than the maximum allowed value (${server.frameMax})`)
  }
  if (server.channelMax !== 0 && client.channelMax > server.channelMax) {
    throw notAllowed(`channel_max = ${client.channelMax} is higher than the maximum allowed value (${server.channelMax})`)
  }
  return {
    frameMax: client.frameMax || server.frameMax,
    channelMax: client.channelMax || server.channelMax || CHANNEL_ID_MAX,
  }
}
