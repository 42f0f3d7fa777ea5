/**
 * BrokerError constructors in RabbitMQ's wording, so every call site reads like the
 * rabbit_misc:protocol_error/3 call it mirrors. Texts carry no "NOT_FOUND - " prefix; adapters
 * add their own.
 *
 * @module
 */
import { BrokerError, type ErrorCode } from '../api.ts'

/** Codes that end the whole connection (hard errors); the others end only the session. */
const connectionScoped: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'not-allowed',
  'command-invalid',
  'not-implemented',
  'internal',
  'resource-error',
  'connection-forced',
])

/** A BrokerError whose scope follows from its code, as RabbitMQ scopes its errors. */
export function brokerError(code: ErrorCode, message: string): BrokerError {
  return new BrokerError(code, message, { scope: connectionScoped.has(code) ? 'connection' : 'session' })
}

/** rabbit_misc:rs/1: "queue 'q' in vhost '/'". */
export function rs(kind: 'queue' | 'exchange', name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`
}

/** rabbit_amqqueue:not_found/1: "no queue 'q' in vhost '/'". */
export function notFound(kind: 'queue' | 'exchange', name: string, vhost: string): BrokerError {
  return brokerError('not-found', `no ${rs(kind, name, vhost)}`)
}

export function preconditionFailed(message: string): BrokerError {
  return brokerError('precondition-failed', message)
}

export function accessRefused(message: string): BrokerError {
  return brokerError('access-refused', message)
}

/** rabbit_amqqueue:check_exclusive_access/3. */
export function exclusiveLocked(name: string, vhost: string): BrokerError {
  return brokerError(
    'resource-locked',
    `cannot obtain exclusive access to locked ${rs('queue', name, vhost)}. It could be originally ` +
      'declared on another connection or the exclusive property value does not match that of the ' +
      'original declaration.',
  )
}

/** rabbit_channel:check_not_default_exchange/1. */
export function defaultExchangeRefused(): BrokerError {
  return accessRefused('operation not permitted on the default exchange')
}
