/**
 * MQTT and AMQP 0-9-1 over WebSocket: each WebSocket becomes a runtime `Socket` (binary
 * messages in, one message per write out) handed to the protocol's own adapter, so both
 * transports run the exact code their TCP listeners run. Clients authenticate in-band (MQTT
 * CONNECT, AMQP SASL), as over TCP; no HTTP credentials are asked for.
 *
 * @module
 */
import { Hono } from 'hono'
import { upgradeWebSocket } from '../../../src/runtime/http.ts'
import type { HttpDeps, HttpEnv } from '../app.ts'

/** [MQTT-6.0.0-3]: "mqtt"; MQTT 3.1 clients offer "mqttv3.1". */
export const MQTT_SUBPROTOCOLS: readonly string[] = ['mqtt', 'mqttv3.1']
/** AMQP 0-9-1 has no registered subprotocol; "amqp" is answered when a client offers it. */
export const AMQP_SUBPROTOCOLS: readonly string[] = ['amqp']

/** `GET /mqtt` (mqtt.js `ws://host:port/mqtt`) and `GET /amqp` (AMQPWebSocketClient). */
export function websocketRoutes(deps: HttpDeps): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>()
  app.get('/mqtt', (c) => upgradeWebSocket(c, { protocols: MQTT_SUBPROTOCOLS, onSocket: (socket) => deps.mqttSocket(socket) }))
  app.get('/amqp', (c) => upgradeWebSocket(c, { protocols: AMQP_SUBPROTOCOLS, onSocket: (socket) => deps.amqpSocket(socket) }))
  return app
}
