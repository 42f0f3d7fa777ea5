/**
 * HTTP authentication. A request proves who it is with basic auth (what RabbitMQ's management
 * API and its tools send), or with a token from `POST /api/login`, presented as a bearer
 * header, the `warren_token` cookie or the `token` query parameter: browsers cannot set headers
 * on an EventSource, so a page logs in once and its streams carry the cookie (same site) or the
 * token in the URL (cross-origin).
 *
 * Tokens live in memory only (a restart logs every page out), slide: each use extends a token by
 * the configured TTL, and stay valid until then even if the user's password changes; logout
 * revokes one at once. At most `MAX_TOKENS` exist; the oldest go first.
 *
 * @module
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { BrokerError, type AuthenticatedUser } from '../../src/api.ts'
import { logOnce } from '../../src/log.ts'
import { peerAddress } from '../../src/runtime/http.ts'
import type { HttpEnv } from './app.ts'
import { forbidden, HttpError } from './errors.ts'
import { loginBody, parseJson, validate } from './schemas.ts'

/** The cookie `POST /api/login` sets. */
export const TOKEN_COOKIE = 'warren_token'
/** The query parameter that carries a token (for EventSource across origins). */
export const TOKEN_QUERY = 'token'
/** Most live tokens; issuing one more drops the oldest. */
const MAX_TOKENS = 10_000
/** Oldest tokens checked for expiry on each issue, so the map never needs a full scan. */
const SWEEP_BATCH = 32
const TOKEN_BYTES = 32

const LOGIN_FAILED = { error: 'not_authorized', reason: 'Login failed' } as const
const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="Warren"' }

/** 401 as RabbitMQ's management API answers a failed or missing login. */
export function loginFailed(): HttpError {
  return new HttpError(401, LOGIN_FAILED.error, LOGIN_FAILED.reason, CHALLENGE)
}

interface TokenEntry {
  user: AuthenticatedUser
  expires: number
}

/** In-memory login tokens with sliding expiry. */
export class TokenStore {
  #tokens = new Map<string, TokenEntry>()
  #ttlMs: number
  #now: () => number

  constructor(opts: { ttlSeconds: number; now?: () => number }) {
    this.#ttlMs = opts.ttlSeconds * 1000
    this.#now = opts.now ?? Date.now
  }

  get size(): number {
    return this.#tokens.size
  }

  /** Mints a token for `user`; returns it with its lifetime in seconds. */
  issue(user: AuthenticatedUser): { token: string; expiresIn: number } {
    const now = this.#now()
    let checked = 0
    for (const [token, entry] of this.#tokens) {
      if (checked++ >= SWEEP_BATCH) break
      if (entry.expires <= now) this.#tokens.delete(token)
    }
    if (this.#tokens.size >= MAX_TOKENS) {
      const oldest = this.#tokens.keys().next().value
      if (oldest !== undefined) this.#tokens.delete(oldest)
    }
    const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES))
    const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    this.#tokens.set(token, { user, expires: now + this.#ttlMs })
    return { token, expiresIn: this.#ttlMs / 1000 }
  }

  /** The token's user, extending its life; undefined when unknown or expired. */
  verify(token: string): AuthenticatedUser | undefined {
    const entry = this.#tokens.get(token)
    if (entry === undefined) return undefined
    const now = this.#now()
    if (entry.expires <= now) {
      this.#tokens.delete(token)
      return undefined
    }
    entry.expires = now + this.#ttlMs
    return entry.user
  }

  revoke(token: string): void {
    this.#tokens.delete(token)
  }
}

/** Username and password from `Authorization: Basic …`; undefined when malformed. */
export function parseBasic(header: string): { username: string; password: string } | undefined {
  const encoded = header.slice(6).trim()
  let decoded: string
  try {
    const binary = atob(encoded)
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** The token a request presents, from the bearer header, the cookie or the query. */
function presentedToken(c: Context<HttpEnv>): string | undefined {
  const header = c.req.header('authorization')
  if (header !== undefined && /^bearer /i.test(header)) return header.slice(7).trim()
  return getCookie(c, TOKEN_COOKIE) ?? c.req.query(TOKEN_QUERY)
}

function checkPassword(c: Context<HttpEnv>, username: string, password: string): AuthenticatedUser {
  const remoteAddress = peerAddress(c).address
  try {
    return c.var.deps.broker.authenticate({ username, password, remoteAddress })
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error
    logOnce(`http:login:${remoteAddress}:${username}`, 'warn', 'HTTP login refused', {
      user: username,
      remote: remoteAddress,
      reason: error.message,
    })
    throw loginFailed()
  }
}

/** Who the request is, or a 401 (a malformed or wrong credential never falls back to another). */
function authenticate(c: Context<HttpEnv>): AuthenticatedUser {
  const header = c.req.header('authorization')
  if (header !== undefined && /^basic /i.test(header)) {
    const credentials = parseBasic(header)
    if (credentials === undefined) throw loginFailed()
    return checkPassword(c, credentials.username, credentials.password)
  }
  const token = presentedToken(c)
  const user = token === undefined ? undefined : c.var.tokens.verify(token)
  if (user === undefined) throw loginFailed()
  return user
}

/**
 * Middleware: authenticates the request (basic auth, or a login token as a bearer header,
 * cookie or `?token=`) and sets `c.get('user')`; 401 `{error: 'not_authorized', reason: 'Login
 * failed'}` otherwise. CORS preflights pass without credentials, as browsers send none.
 */
export function requireUser(): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return next()
    c.set('user', authenticate(c))
    await next()
  }
}

/**
 * Middleware after `requireUser`: 403 `{error: 'not_authorised', reason}` unless the user has
 * one of `tags` (RabbitMQ's reasons: "Not administrator user", "Not monitor user", "Not
 * management user").
 */
export function requireTag(tags: readonly string[], reason = `Not ${tags[0] ?? 'management'} user`): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return next()
    if (!c.var.user.tags.some((tag) => tags.includes(tag))) throw forbidden(reason)
    await next()
  }
}

async function loginCredentials(c: Context<HttpEnv>): Promise<{ username: string; password: string }> {
  const header = c.req.header('authorization')
  if (header !== undefined && /^basic /i.test(header)) {
    const credentials = parseBasic(header)
    if (credentials === undefined) throw loginFailed()
    return credentials
  }
  if (c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded')) {
    return validate(loginBody, await c.req.parseBody(), 'body')
  }
  return parseJson(c, loginBody)
}

/** `POST /login` and `POST /logout`, mounted under /api. */
export function loginRoutes(): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>()
  app.post('/login', async (c) => {
    const { username, password } = await loginCredentials(c)
    const user = checkPassword(c, username, password)
    const { token, expiresIn } = c.var.tokens.issue(user)
    // Strict: another site's page can never make the browser send it (no CSRF through it).
    setCookie(c, TOKEN_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'Strict', maxAge: expiresIn })
    return c.json({ name: user.name, tags: user.tags, token, expires_in: expiresIn })
  })
  app.post('/logout', (c) => {
    const token = presentedToken(c)
    if (token !== undefined) c.var.tokens.revoke(token)
    deleteCookie(c, TOKEN_COOKIE, { path: '/' })
    return c.body(null, 204)
  })
  return app
}
