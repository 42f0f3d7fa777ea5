/**
 * Request parsing shared by every route: JSON bodies and query strings validated with zod, and
 * any failure turned into a 400 whose reason names the field ("routing_key: Invalid input:
 * expected string, received number"; "body: …" when the whole body is wrong). Route-specific schemas live next to their routes; the
 * ones here are used by more than one file.
 *
 * @module
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { HTTPException } from 'hono/http-exception'
import { badRequest, HttpError, zodReason } from './errors.ts'

/**
 * Reads the body as JSON and validates it. An empty body (or `null`) is `{}`, as RabbitMQ's
 * management API treats it. The body size limit is enforced before this, by the app.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await readBody(c, () => c.req.text())
  let value: unknown = {}
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw badRequest(`body: invalid JSON: ${(error as Error).message}`)
    }
  }
  if (value === null) value = {}
  return validate(schema, value, 'body')
}

/**
 * Reads the request body. A body cut short (the client closed the connection mid-upload) is
 * the client's doing: a 400, logged at info level, not an internal error. The body limit's own
 * 413 passes through.
 */
export async function readBody<T>(c: Context, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof HTTPException || error instanceof HttpError) throw error
    throw badRequest('body: the request body could not be read (the client closed the connection?)')
  }
}

/** Validates the query string (each parameter's last value, as strings). */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return validate(schema, c.req.query(), 'query')
}

/** Validates `value`; a failure is a 400 naming the field, or `root` when the whole value is wrong. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw badRequest(zodReason(result.error, root))
}

/** POST /api/login: credentials in the body (basic auth works too). */
export const loginBody = z
  .object({
    username: z.string().min(1),
    password: z.string(),
  })
  .strict()

/** A vhost or entity name from a path segment (hono has already percent-decoded it). */
export const nameParam = z.string().min(1).max(255)
