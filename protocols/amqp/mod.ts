/**
 * The AMQP 0-9-1 adapter's entry point: accepts sockets and gives each its AmqpConnection.
 *
 * @module
 */
import type { Broker } from '../../src/api.ts'
import { listen } from '../../src/runtime/mod.ts'
import type { Listener, Socket } from '../../src/runtime/socket.ts'
import { AmqpConnection, type AmqpConnectionOptions } from './connection.ts'

export type { AmqpConnectionOptions } from './connection.ts'

export interface AmqpListenOptions extends AmqpConnectionOptions {
  host: string
  port: number
}

/** Listens for AMQP clients; every accepted socket becomes one connection on `broker`. */
export function listenAmqp(broker: Broker, opts: AmqpListenOptions): Promise<Listener> {
  return listen({ host: opts.host, port: opts.port }, (socket) => {
    new AmqpConnection(socket, broker, opts)
  })
}

/**
 * Serves one already-connected byte stream as an AMQP connection on `broker`: how AMQP over
 * WebSocket (protocols/http, through the wiring) reuses this adapter.
 */
export function handleAmqpSocket(broker: Broker, socket: Socket, opts: AmqpConnectionOptions): void {
  new AmqpConnection(socket, broker, opts)
}
