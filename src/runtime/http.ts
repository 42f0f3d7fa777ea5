/**
 * The HTTP seam: serves a fetch-style app (hono) with the fastest server of this runtime
 * (`Bun.serve` in `http_bun.ts`; `@hono/node-server` with `@hono/node-ws` in `http_node.ts` for
 * Node and Deno) and upgrades requests to WebSockets that carry a byte stream as a `Socket`, so
 * the AMQP and MQTT adapters serve WebSocket clients unchanged.
 *
 * Route code never touches the runtime server: each server puts a `RequestRuntime` into every
 * request's env, and `upgradeWebSocket` / `peerAddress` read it from there.
 *
 * @module
 */
import type { Context } from 'hono'
import { runtimeName } from './mod.ts'
import type { Listener, Socket } from './socket.ts'

/** What a WebSocket endpoint wants from an upgrade. */
export interface WebSocketOptions {
  /**
   * Subprotocols the endpoint speaks, preferred first. The first one the client offers is
   * selected; a client that offers none of them gets its own first choice echoed (lenient, as
   * the `ws` package and Bun do by default).
   */
  protocols: readonly string[]
  /** Called once per WebSocket, on open, with the WebSocket as a byte stream. */
  onSocket(socket: Socket): void
}

/** The peer of a request. */
export interface PeerAddress {
  address: string
  port: number
}

/** What every request's env carries under `HTTP_RUNTIME`; one per server. */
export interface RequestRuntime {
  peer(c: Context): PeerAddress
  upgrade(c: Context, opts: WebSocketOptions): Response | Promise<Response>
}

/** The env key of the `RequestRuntime`. A symbol, so it never collides with app bindings. */
export const HTTP_RUNTIME: unique symbol = Symbol('warren.http.runtime')

/** What `serveHttp` serves: a hono app, or anything with the same `fetch`. */
export interface HttpApp {
  fetch(request: Request, env: object): Response | Promise<Response>
}

export interface ServeHttpOptions {
  /** "::" is dual-stack, falling back to 0.0.0.0 without IPv6 (as `listen` in mod.ts). */
  host: string
  port: number
  app: HttpApp
  /** Largest WebSocket message accepted, bytes; a larger one closes the WebSocket (1009). */
  maxWebSocketMessage: number
}

export interface HttpListener extends Listener {
  /**
   * Drops every connection still open (a stream nobody ended). Call after `close` and after the
   * adapters have closed their WebSockets.
   */
  closeConnections(): void
}

/** Serves `opts.app` over HTTP/1.1 with WebSocket upgrades. */
export async function serveHttp(opts: ServeHttpOptions): Promise<HttpListener> {
  const serve =
    runtimeName === 'bun' ? (await import('./http_bun.ts')).serveBun : (await import('./http_node.ts')).serveNode
  try {
    return await serve(opts)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (opts.host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error
    return await serve({ ...opts, host: '0.0.0.0' })
  }
}

function requestRuntime(c: Context): RequestRuntime {
  const runtime = (c.env as { [HTTP_RUNTIME]?: RequestRuntime } | undefined)?.[HTTP_RUNTIME]
  if (runtime === undefined) throw new TypeError('Cannot reach the HTTP runtime: the app is not served by serveHttp')
  return runtime
}

/**
 * Upgrades the request to a WebSocket whose binary messages become a `Socket`'s data (text
 * messages close it with 1003). Answers 426 when the request is not a WebSocket upgrade.
 */
export function upgradeWebSocket(c: Context, opts: WebSocketOptions): Response | Promise<Response> {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    return c.json({ error: 'upgrade_required', reason: 'Expected a WebSocket upgrade request' }, 426, { Upgrade: 'websocket' })
  }
  return requestRuntime(c).upgrade(c, opts)
}

/** The TCP peer of the request (no proxy headers are trusted). */
export function peerAddress(c: Context): PeerAddress {
  let peer = peersByContext.get(c)
  if (peer === undefined) {
    peer = requestRuntime(c).peer(c)
    peersByContext.set(c, peer)
  }
  return peer
}

/**
 * The peer of each request, looked up once: a middleware that replaces `c.req.raw` (hono's
 * bodyLimit does for a chunked body) leaves a Request that Bun's requestIP() no longer knows.
 * The app calls peerAddress first thing, so the original request is the one asked.
 */
const peersByContext = new WeakMap<Context, PeerAddress>()

/** Looks the peer up now (the first middleware calls it); nothing when not served by serveHttp. */
export function rememberPeer(c: Context): void {
  if ((c.env as { [HTTP_RUNTIME]?: RequestRuntime } | undefined)?.[HTTP_RUNTIME] !== undefined) peerAddress(c)
}

/** Picks the subprotocol to answer with, as `WebSocketOptions.protocols` describes. */
export function selectProtocol(header: string | null | undefined, supported: readonly string[]): string | undefined {
  if (!header) return undefined
  const offered = header.split(',').map((p) => p.trim()).filter((p) => p !== '')
  return supported.find((p) => offered.includes(p)) ?? offered[0]
}
