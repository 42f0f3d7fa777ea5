/**
 * The HTTP adapter's hono app: one app on one port carries the web messaging routes (publish,
 * SSE), the RabbitMQ-compatible management API, login, and MQTT and AMQP over WebSocket.
 *
 * Mount order matters because hono runs every matching handler in registration order until one
 * answers: the WebSocket and login routes go first so that no later `requireUser()` middleware
 * (a sub-app's `use('*')`) can stand in front of an in-band login or of `POST /api/login`.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import type { AuthenticatedUser, Broker } from '../../src/api.ts'
import { rememberPeer } from '../../src/runtime/http.ts'
import type { Socket } from '../../src/runtime/socket.ts'
import { loginRoutes, TokenStore } from './auth.ts'
import { notFound, onError, payloadTooLarge } from './errors.ts'
import { managementRoutes } from './routes/management/mod.ts'
import { messagingRoutes, type MessagingOptions } from './routes/messaging.ts'
import { websocketRoutes } from './routes/websocket.ts'

/** Login tokens live this long after their last use, by default. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600

/**
 * What the HTTP routes need from the wiring (src/server.ts). Route files read it; add fields
 * here rather than importing anything outside src/api.ts and src/runtime/.
 */
export interface HttpDeps {
  broker: Broker
  /** Serves one MQTT connection over a byte stream (the MQTT adapter's `handleSocket`). */
  mqttSocket(socket: Socket): void
  /** Serves one AMQP 0-9-1 connection over a byte stream (protocols/amqp `handleAmqpSocket`). */
  amqpSocket(socket: Socket): void
  /**
   * Origins a browser page may call the API from (CORS). "*" allows any origin, without
   * credentials (no cookies; basic auth or `?token=` still work); empty sends no CORS headers.
   */
  corsOrigins?: readonly string[]
  /** Largest request body, bytes (413 above). Default: a base64-encoded maxMessageSize. */
  maxBodySize?: number
  /** Seconds a login token lives after its last use. */
  tokenTtlSeconds?: number
  /** Web messaging (publish, SSE) settings; routes/messaging.ts has the defaults. */
  messaging?: Partial<MessagingOptions>
  /**
   * The broker's listening sockets, for the management API's listener health checks and
   * overview; ports as bound. Absent: no listener is reported.
   */
  listeners?: () => readonly ListenerInfo[]
}

/** One listening socket, as RabbitMQ names its protocols ("amqp", "mqtt", "http"). */
export interface ListenerInfo {
  protocol: string
  host: string
  port: number
}

/** hono's Env for every route: the deps and, after `requireUser()`, the user. */
export type HttpEnv = {
  Variables: {
    deps: HttpDeps
    tokens: TokenStore
    /** Set by `requireUser()` (auth.ts). */
    user: AuthenticatedUser
  }
}

/** The body limit that still admits the largest message published as base64 JSON. */
export function defaultMaxBodySize(maxMessageSize: number): number {
  return Math.ceil(maxMessageSize / 3) * 4 + 64 * 1024
}

function corsFor(origins: readonly string[]): MiddlewareHandler<HttpEnv> | undefined {
  if (origins.length === 0) return undefined
  const anyOrigin = origins.includes('*')
  return cors({
    origin: anyOrigin ? '*' : [...origins],
    // A wildcard with credentials would let every site use a visitor's login.
    credentials: !anyOrigin,
    allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    maxAge: 600,
  })
}

/** Builds the app; `protocols/http/mod.ts` serves it. */
export function createHttpApp(deps: HttpDeps): Hono<HttpEnv> {
  const tokens = new TokenStore({ ttlSeconds: deps.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS })
  const maxBodySize = deps.maxBodySize ?? defaultMaxBodySize(deps.broker.maxMessageSize)
  const app = new Hono<HttpEnv>()
  app.use(async (c, next) => {
    c.set('deps', deps)
    c.set('tokens', tokens)
    // Before bodyLimit swaps in a new Request for a chunked body (see peerAddress).
    rememberPeer(c)
    await next()
  })
  const cors = corsFor(deps.corsOrigins ?? [])
  if (cors !== undefined) app.use(cors)
  app.use(
    bodyLimit({
      maxSize: maxBodySize,
      onError: () => {
        throw payloadTooLarge(maxBodySize)
      },
    }),
  )
  app.route('/', websocketRoutes(deps))
  app.route('/api', loginRoutes())
  app.route('/', messagingRoutes(deps))
  app.route('/api', managementRoutes(deps))
  app.onError(onError)
  app.notFound(notFound)
  return app
}
