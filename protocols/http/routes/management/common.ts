/**
 * What every management route file shares: the routes' context and path parameter helpers.
 * Path segments arrive percent-decoded by hono ("%2F" is the vhost "/").
 *
 * @module
 */
import type { Context, Hono } from 'hono'
import type { Broker, Management } from '../../../../src/api.ts'
import type { HttpEnv, ListenerInfo } from '../../app.ts'
import { notFoundError } from '../../errors.ts'
import { nameParam, validate } from '../../schemas.ts'

export interface RouteContext {
  readonly app: Hono<HttpEnv>
  readonly broker: Broker
  readonly m: Management
  /** The node name RabbitMQ's JSON carries in `node` fields. */
  readonly node: string
  /** The broker's listening sockets (none when the wiring does not say). */
  readonly listeners: () => readonly ListenerInfo[]
}

/** A required path parameter, validated (1 to 255 characters). */
export function param(c: Context<HttpEnv>, key: string): string {
  return validate(nameParam, c.req.param(key), key)
}

/** An exchange name from the path: "amq.default" is the default exchange "", as in RabbitMQ. */
export function exchangeParam(c: Context<HttpEnv>, key: string): string {
  const name = param(c, key)
  return name === 'amq.default' ? '' : name
}

/** The vhost from the path; 404 when it does not exist. */
export function existingVhost(c: Context<HttpEnv>, m: Management): string {
  const vhost = param(c, 'vhost')
  if (!m.hasVhost(vhost)) throw notFoundError()
  return vhost
}

/** `?if-unused=true` style flags: only the exact string "true" counts, as in RabbitMQ. */
export function queryFlag(c: Context<HttpEnv>, key: string): boolean {
  return c.req.query(key) === 'true'
}

/** 201 when the PUT created the object, 204 when it existed. */
export function created(c: Context<HttpEnv>, wasCreated: boolean): Response {
  return c.body(null, wasCreated ? 201 : 204)
}
