/**
 * HTTP on `Bun.serve`. WebSockets are upgraded with `server.upgrade` directly rather than
 * through `hono/bun`'s helper: the helper has no `drain` handler (so no backpressure), rebuilds
 * a context object per message and is deprecated in favour of a package Warren does not use.
 *
 * @module
 */
import type { Context } from 'hono'
import {
  HTTP_RUNTIME,
  selectProtocol,
  type HttpListener,
  type RequestRuntime,
  type ServeHttpOptions,
  type WebSocketOptions,
} from './http.ts'
import { WebSocketStream } from './http_socket.ts'

/** Per-WebSocket data: what the upgrade decided, then the stream once open. */
interface WsData {
  opts: WebSocketOptions
  peer: { address: string; port: number }
  stream: WebSocketStream | undefined
}

type BunServer = Bun.Server<WsData>
type BunWebSocket = Bun.ServerWebSocket<WsData>

/**
 * Bun queues sends beyond the kernel's buffer up to this many bytes; past it, it would drop a
 * message, which corrupts a byte stream, so it closes the connection instead. Adapters stop
 * writing long before (`write` returns false above 256 KiB); this only stops a runaway.
 */
const BACKPRESSURE_LIMIT = 256 * 1024 * 1024
/**
 * Seconds an HTTP connection may stay silent. Bun's default (10) would cut every Server-Sent
 * Events stream between heartbeats; Node has no such limit on a response in progress. SSE
 * heartbeats must come more often than this.
 */
const IDLE_TIMEOUT_SECONDS = 120

function rawWebSocket(ws: BunWebSocket) {
  return {
    send: (data: Uint8Array) => void ws.sendBinary(data),
    bufferedAmount: () => ws.getBufferedAmount(),
    close: (code: number, reason: string) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  }
}

function runtimeFor(server: () => BunServer): RequestRuntime {
  const peer = (c: Context) => {
    const ip = server().requestIP(c.req.raw)
    return { address: ip?.address ?? '', port: ip?.port ?? 0 }
  }
  return {
    peer,
    upgrade(c, opts) {
      const protocol = selectProtocol(c.req.header('sec-websocket-protocol'), opts.protocols)
      const upgraded = server().upgrade(c.req.raw, {
        data: { opts, peer: peer(c), stream: undefined },
        headers: protocol === undefined ? undefined : { 'Sec-WebSocket-Protocol': protocol },
      })
      if (!upgraded) return c.json({ error: 'bad_request', reason: 'WebSocket upgrade failed' }, 400)
      // Bun has already answered 101; it ignores what the fetch handler returns.
      return new Response(null)
    },
  }
}

/** Serves with `Bun.serve`; resolves once bound. */
export async function serveBun(opts: ServeHttpOptions): Promise<HttpListener> {
  let server: BunServer | undefined
  const runtime = runtimeFor(() => server!)
  // One env object for every request: `server` keeps hono/bun's helpers (getConnInfo) working.
  const env: { server?: BunServer; [HTTP_RUNTIME]: RequestRuntime } = { [HTTP_RUNTIME]: runtime }
  server = Bun.serve<WsData>({
    hostname: opts.host,
    port: opts.port,
    idleTimeout: IDLE_TIMEOUT_SECONDS,
    fetch: (request) => opts.app.fetch(request, env),
    websocket: {
      maxPayloadLength: opts.maxWebSocketMessage,
      backpressureLimit: BACKPRESSURE_LIMIT,
      closeOnBackpressureLimit: true,
      open(ws) {
        const stream = new WebSocketStream(rawWebSocket(ws), ws.data.peer)
        ws.data.stream = stream
        ws.data.opts.onSocket(stream)
      },
      message: (ws, message) => ws.data.stream?.handleMessage(message),
      drain: (ws) => ws.data.stream?.handleDrain(),
      close: (ws) => ws.data.stream?.handleClose(),
      error: (error, ws) => {
        ws.data.stream?.handleError(error)
        ws.terminate()
      },
    },
  })
  env.server = server
  const bound = server
  return {
    port: bound.port ?? opts.port,
    host: opts.host,
    // stop(false) resolves only when every connection is gone: do not wait for it here.
    close: async () => void bound.stop(false),
    closeConnections: () => void bound.stop(true),
  }
}
