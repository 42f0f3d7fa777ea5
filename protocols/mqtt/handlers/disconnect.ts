/**
 * DISCONNECT from the client: only reason 0x00 (normal, and every v3 DISCONNECT) drops the will
 * [MQTT-3.1.2-10]; 0x04 asks for it, and so does any error reason. v5 may change the Session
 * Expiry Interval, but not from 0 [MQTT-3.14.2-2].
 *
 * @module
 */
import type { IDisconnectPacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'
import { RC } from '../reason_codes.ts'

export function handleDisconnect(conn: MqttConnection, packet: IDisconnectPacket): void {
  const session = conn.session!
  const expiry = packet.properties?.sessionExpiryInterval
  if (expiry !== undefined) {
    if (session.expiry === 0 && expiry !== 0) {
      return conn.protocolError(RC.PROTOCOL_ERROR, 'DISCONNECT sets a Session Expiry Interval after CONNECT set 0')
    }
    session.expiry = Math.min(expiry, conn.ctx.opts.maxSessionExpiry)
  }
  conn.close((packet.reasonCode ?? 0) !== 0)
}
