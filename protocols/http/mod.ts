/**
 * The HTTP adapter's entry point: builds the hono app (app.ts) and serves it through
 * src/runtime/http.ts on Bun, Node or Deno.
 *
 * @module
 */
import { serveHttp, type HttpListener } from '../../src/runtime/http.ts'
import { createHttpApp, type HttpDeps } from './app.ts'

export type { HttpDeps, HttpEnv } from './app.ts'
export type { HttpListener } from '../../src/runtime/http.ts'

export interface HttpListenOptions {
  host: string
  port: number
  /** Largest WebSocket message (an MQTT packet, a batch of AMQP frames), bytes. */
  maxWebSocketMessage: number
}

/** Listens for HTTP (and WebSocket) clients. */
export function listenHttp(deps: HttpDeps, opts: HttpListenOptions): Promise<HttpListener> {
  return serveHttp({ host: opts.host, port: opts.port, app: createHttpApp(deps), maxWebSocketMessage: opts.maxWebSocketMessage })
}
