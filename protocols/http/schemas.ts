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
import { badRequest, zodReason } from './errors.ts'

/**
 * Reads the body as JSON and validates it. An empty body (or `null`) is `{}`, as RabbitMQ's
 * management API treats it. The body size limit is enforced before this, by the app.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text()
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
