/**
 * The AMQP 0-9-1 adapter's entry point: accepts sockets and gives each its AmqpConnection.
 *
 * @module
 */
import type { Broker } from '../../src/api.ts'
import { listen } from '../../src/runtime/mod.ts'
import type { Listener } from '../../src/runtime/socket.ts'
import { AmqpConnection } from './connection.ts'

export interface AmqpListenOptions {
  host: string
  port: number
  /** Offered in connection.tune (RabbitMQ: 131072). */
  frameMax: number
  /** Offered in connection.tune (RabbitMQ: 2047). */
  channelMax: number
  /** Offered in connection.tune, seconds (RabbitMQ: 60). */
  heartbeat: number
  /** Milliseconds a client has from accept to open-ok; default 10 000 as RabbitMQ. */
  handshakeTimeout?: number
}

/** Listens for AMQP clients; every accepted socket becomes one connection on `broker`. */
export function listenAmqp(broker: Broker, opts: AmqpListenOptions): Promise<Listener> {
  const connectionOptions = {
    frameMax: opts.frameMax,
    channelMax: opts.channelMax,
    heartbeat: opts.heartbeat,
    handshakeTimeout: opts.handshakeTimeout,
  }
  return listen({ host: opts.host, port: opts.port }, (socket) => {
    new AmqpConnection(socket, broker, connectionOptions)
  })
}
