/**
 * HTTP on `node:http` through `@hono/node-server`, used by Node and by Deno; WebSockets through
 * `@hono/node-ws` (the `ws` package). Binary messages are taken from the `ws` socket directly
 * rather than through the helper's `onMessage`, which copies every message into a new buffer.
 *
 * @module
 */
import { createAdaptorServer } from '@hono/node-server'
import { createNodeWebSocket } from '@hono/node-ws'
import type { Hono } from 'hono'
import type { IncomingMessage, Server } from 'node:http'
import type { WebSocket } from 'ws'
import { HTTP_RUNTIME, selectProtocol, type HttpListener, type PeerAddress, type RequestRuntime, type ServeHttpOptions } from './http.ts'
import { WebSocketStream } from './http_socket.ts'

/** The env @hono/node-server and @hono/node-ws give each request, plus ours. */
interface NodeEnv {
  incoming: IncomingMessage
  [HTTP_RUNTIME]?: RequestRuntime
}

/** The subprotocols of the endpoint an upgrade request was routed to (read by `handleProtocols`). */
const endpointProtocols = new WeakMap<IncomingMessage, readonly string[]>()

function peerOf(incoming: IncomingMessage): PeerAddress {
  return { address: incoming.socket.remoteAddress ?? '', port: incoming.socket.remotePort ?? 0 }
}

function rawWebSocket(ws: WebSocket) {
  return {
    send: (data: Uint8Array) => ws.send(data, { binary: true }),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code: number, reason: string) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  }
}

/** Serves with `node:http`; resolves once bound. */
export function serveNode(opts: ServeHttpOptions): Promise<HttpListener> {
  const withRuntime = (env: NodeEnv): NodeEnv => {
    env[HTTP_RUNTIME] = runtime
    return env
  }
  // node-ws replays the upgrade request through `app.request`; route it through our fetch so
  // the upgrade handler sees the same env as every other request.
  const appForUpgrades = {
    request: (input: URL, init: RequestInit, env: NodeEnv) => opts.app.fetch(new Request(input.href, init), withRuntime(env)),
  }
  const nodeWs = createNodeWebSocket({ app: appForUpgrades as unknown as Hono })
  nodeWs.wss.options.maxPayload = opts.maxWebSocketMessage
  nodeWs.wss.options.handleProtocols = (offered: Set<string>, request: IncomingMessage) =>
    selectProtocol([...offered].join(','), endpointProtocols.get(request) ?? []) ?? false

  const runtime: RequestRuntime = {
    peer: (c) => peerOf((c.env as NodeEnv).incoming),
    upgrade(c, endpoint) {
      const incoming = (c.env as NodeEnv).incoming
      endpointProtocols.set(incoming, endpoint.protocols)
      return nodeWs.upgradeWebSocket(c, {
        onOpen(_event, context) {
          const ws = context.raw as WebSocket
          const stream = new WebSocketStream(rawWebSocket(ws), peerOf(incoming))
          // A text message's content is never read: the stream closes on any text message.
          ws.on('message', (data, isBinary) => stream.handleMessage(isBinary ? (data as Buffer) : ''))
          ws.on('error', (error) => stream.handleError(error))
          ws.on('close', () => stream.handleClose())
          // `ws` writes straight to the upgraded TCP socket, so its drain is the WebSocket's.
          incoming.socket.on('drain', () => stream.handleDrain())
          endpoint.onSocket(stream)
        },
      })
    },
  }

  const server = createAdaptorServer({
    fetch: (request, env) => opts.app.fetch(request, withRuntime(env as NodeEnv)),
    hostname: opts.host,
    port: opts.port,
  }) as Server
  nodeWs.injectWebSocket(server)

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      // After bind, errors are per-connection (a peer reset mid-request): keep serving.
      server.on('error', () => {})
      const address = server.address()
      resolve({
        port: typeof address === 'object' && address ? address.port : opts.port,
        host: opts.host,
        close: async () => {
          // Stops accepting at once; the callback would wait for every connection.
          server.close()
          server.closeIdleConnections()
        },
        closeConnections: () => server.closeAllConnections(),
      })
    })
  })
}
