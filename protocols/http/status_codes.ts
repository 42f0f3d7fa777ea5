/**
 * The one table from the core's neutral error codes to HTTP answers, as RabbitMQ's management
 * API maps AMQP errors (rabbit_mgmt_util:direct_request/with_channel): NOT_FOUND is 404,
 * ACCESS_REFUSED and NOT_ALLOWED are "not_authorised" (403 here; RabbitMQ still says 401 and
 * plans 403), and every other channel or connection error is a 400 "bad_request" with the
 * server's explanation as the reason.
 *
 * @module
 */
import type { ErrorCode } from '../../src/api.ts'

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 413 | 415 | 426 | 500 | 503

/** An HTTP status and the RabbitMQ error type that goes with it in `{error, reason}`. */
export interface HttpErrorKind {
  status: ErrorStatus
  error: string
}

const BAD_REQUEST: HttpErrorKind = { status: 400, error: 'bad_request' }

export const STATUS_BY_CODE: Readonly<Record<ErrorCode, HttpErrorKind>> = {
  'not-found': { status: 404, error: 'not_found' },
  'access-refused': { status: 403, error: 'not_authorised' },
  'not-allowed': { status: 403, error: 'not_authorised' },
  'precondition-failed': BAD_REQUEST,
  'invalid-argument': BAD_REQUEST,
  'resource-locked': BAD_REQUEST,
  'resource-error': BAD_REQUEST,
  'command-invalid': BAD_REQUEST,
  'not-implemented': BAD_REQUEST,
  'connection-forced': { status: 503, error: 'service_unavailable' },
  internal: { status: 500, error: 'internal_server_error' },
}

/** The error type for a status that has no core code behind it (hono's HTTPException). */
export function errorForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request'
    case 401:
      return 'not_authorized'
    case 403:
      return 'not_authorised'
    case 404:
      return 'not_found'
    case 405:
      return 'method_not_allowed'
    case 413:
      return 'payload_too_large'
    case 503:
      return 'service_unavailable'
    default:
      return status >= 500 ? 'internal_server_error' : 'bad_request'
  }
}
