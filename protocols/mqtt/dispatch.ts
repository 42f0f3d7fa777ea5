/**
 * packet.cmd -> handler, and the CONNECT-first rule [MQTT-3.1.0-1]: before CONNECT only CONNECT
 * is accepted; a second CONNECT is a protocol error [MQTT-3.1.0-2]. Packets only a server sends
 * are protocol errors too.
 *
 * @module
 */
import type { Packet } from 'mqtt-packet'
import type { MqttConnection } from './connection.ts'
import { handlePuback, handlePubcomp, handlePubrec } from './handlers/acks.ts'
import { handleAuth } from './handlers/auth.ts'
import { handleConnect } from './handlers/connect.ts'
import { handleDisconnect } from './handlers/disconnect.ts'
import { handlePingreq } from './handlers/ping.ts'
import { handlePublish } from './handlers/publish.ts'
import { handlePubrel } from './handlers/pubrel.ts'
import { handleSubscribe } from './handlers/subscribe.ts'
import { handleUnsubscribe } from './handlers/unsubscribe.ts'
import { logFault, RC } from './reason_codes.ts'

export function dispatch(conn: MqttConnection, packet: Packet): void {
  if (!conn.connected) {
    if (packet.cmd === 'connect') return handleConnect(conn, packet)
    logFault('connect-first', `MQTT client sent ${packet.cmd} before CONNECT`, conn.logContext)
    return conn.close(false)
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(conn, packet)
    case 'puback':
      return handlePuback(conn, packet)
    case 'pubrec':
      return handlePubrec(conn, packet)
    case 'pubrel':
      return handlePubrel(conn, packet)
    case 'pubcomp':
      return handlePubcomp(conn, packet)
    case 'subscribe':
      return handleSubscribe(conn, packet)
    case 'unsubscribe':
      return handleUnsubscribe(conn, packet)
    case 'pingreq':
      return handlePingreq(conn)
    case 'disconnect':
      return handleDisconnect(conn, packet)
    case 'auth':
      return handleAuth(conn)
    case 'connect':
      return conn.protocolError(RC.PROTOCOL_ERROR, 'second CONNECT')
    default:
      return conn.protocolError(RC.PROTOCOL_ERROR, `${packet.cmd} from a client`)
  }
}
