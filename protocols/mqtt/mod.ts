/**
 * The MQTT 3.1 / 3.1.1 / 5.0 adapter's entry point. One adapter instance owns the state its
 * connections share (session registry, retained messages, delayed wills), so the TCP listener
 * and a WebSocket mount (`handleSocket`) serve the same MQTT broker.
 *
 * @module
 */
import type { Broker } from '../../src/api.ts'
import { listen } from '../../src/runtime/mod.ts'
import type { Listener, Socket } from '../../src/runtime/socket.ts'
import { MqttConnection } from './connection.ts'
import type { AdapterContext, MqttOptions } from './options.ts'
import { RetainedStore } from './retained.ts'
import { SessionRegistry } from './session_registry.ts'
import { topicMapper } from './topic.ts'
import { WillScheduler } from './will.ts'

export type { MqttOptions } from './options.ts'

export interface MqttAdapter {
  /** Serves one connected byte stream (TCP, or a WebSocket through the same interface). */
  handleSocket(socket: Socket): void
  /** Listens for MQTT clients on TCP. */
  listen(opts: { host: string; port: number }): Promise<Listener>
  /** Stops timers the adapter owns (delayed wills, session sweeps); connections close with the broker. */
  stop(): void
}

/** Creates an MQTT adapter on `broker`. */
export function createMqttAdapter(broker: Broker, opts: MqttOptions): MqttAdapter {
  const topics = topicMapper(opts.topicDotEscaping)
  const ctx: AdapterContext = {
    broker,
    opts,
    topics,
    registry: new SessionRegistry(),
    retained: new RetainedStore(topics),
    wills: new WillScheduler(),
  }
  const handleSocket = (socket: Socket): void => {
    new MqttConnection(socket, ctx)
  }
  return {
    handleSocket,
    listen: (address) => listen({ host: address.host, port: address.port }, handleSocket),
    stop() {
      ctx.wills.clear()
      ctx.registry.stop()
    },
  }
}
