/**
 * Every HTTP error answer is `{error, reason}` JSON, as RabbitMQ's management API sends it, and
 * is produced and logged here only: handlers throw (a BrokerError from the core, an HttpError,
 * a zod error) and `onError` maps it once.
 *
 * @module
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { z } from 'zod'
import { BrokerError } from '../../src/api.ts'
import { logOnce, type LogLevel } from '../../src/log.ts'
import { errorForStatus, STATUS_BY_CODE, type ErrorStatus } from './status_codes.ts'

/** RabbitMQ's wording for a body over max_http_body_size. */
export const BODY_TOO_LARGE_REASON = 'Exceeded HTTP request body size limit'

/** An error answer decided by HTTP code itself (auth, validation, limits). */
export class HttpError extends Error {
  readonly status: ErrorStatus
  /** RabbitMQ's error type: 'bad_request', 'not_authorized', 'not_authorised', 'not_found' … */
  readonly error: string
  readonly headers: Record<string, string> | undefined

  constructor(status: ErrorStatus, error: string, reason: string, headers?: Record<string, string>) {
    super(reason)
    this.name = 'HttpError'
    this.status = status
    this.error = error
    this.headers = headers
  }
}

/** 400 bad_request; `reason` names the field and the problem ("routing_key: expected string"). */
export function badRequest(reason: string): HttpError {
  return new HttpError(400, 'bad_request', reason)
}

/** 403 not_authorised: authenticated, but missing a tag or permission. */
export function forbidden(reason: string): HttpError {
  return new HttpError(403, 'not_authorised', reason)
}

/** 404 not_found, as RabbitMQ answers a missing object. */
export function notFoundError(reason = 'Object Not Found'): HttpError {
  return new HttpError(404, 'not_found', reason)
}

/** 413 for a body over the configured limit (RabbitMQ answers 400 with the same reason). */
export function payloadTooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `${BODY_TOO_LARGE_REASON} (${limit} bytes)`)
}

/** "<field>: <problem>" for the first issue; the path is relative to what was parsed. */
export function zodReason(error: z.core.$ZodError, root = 'body'): string {
  const issue = error.issues[0]
  if (issue === undefined) return `${root}: invalid`
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : root
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${path}.` : ''
    return `${prefix}${issue.keys[0]}: unknown field`
  }
  return `${path}: ${issue.message}`
}

interface Answer {
  status: ErrorStatus
  error: string
  reason: string
  headers?: Record<string, string>
  level: LogLevel
  cause?: unknown
}

function classify(err: unknown): Answer {
  if (err instanceof HttpError) {
    return { status: err.status, error: err.error, reason: err.message, headers: err.headers, level: levelOf(err.status) }
  }
  if (err instanceof BrokerError) {
    const kind = STATUS_BY_CODE[err.code]
    return { ...kind, reason: err.message, level: levelOf(kind.status) }
  }
  if (err instanceof z.core.$ZodError) {
    return { status: 400, error: 'bad_request', reason: zodReason(err), level: 'info' }
  }
  if (err instanceof HTTPException) {
    const status = (err.status >= 400 && err.status <= 599 ? err.status : 500) as ErrorStatus
    return { status, error: errorForStatus(status), reason: err.message || 'Request failed', level: levelOf(status) }
  }
  // JSON.parse on a request body (c.req.json()), or a client-supplied regular expression.
  if (err instanceof SyntaxError) {
    return { status: 400, error: 'bad_request', reason: err.message, level: 'info' }
  }
  return { status: 500, error: 'internal_server_error', reason: 'Internal server error', level: 'error', cause: err }
}

function levelOf(status: number): LogLevel {
  if (status === 503) return 'warn' // shutting down: expected, not a fault
  return status >= 500 ? 'error' : 'info'
}

/** hono's onError: maps whatever a handler threw to `{error, reason}` and logs it once. */
export function onError(err: unknown, c: Context): Response {
  const answer = classify(err)
  const route = `${c.req.method} ${c.req.routePath}`
  logOnce(`http:${answer.status}:${route}`, answer.level, 'HTTP request failed', {
    route,
    status: answer.status,
    reason: answer.reason,
    error: answer.cause instanceof Error ? (answer.cause.stack ?? answer.cause.message) : answer.cause,
  })
  return c.json({ error: answer.error, reason: answer.reason }, answer.status, answer.headers)
}

/** hono's notFound: no route matched. */
export function notFound(c: Context): Response {
  return c.json({ error: 'not_found', reason: 'Not Found' }, 404)
}
