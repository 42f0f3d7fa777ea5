/**
 * DISCONNECT from the client: a normal end drops the will [MQTT-3.14.4-3]; v5 reason 0x04 asks
 * for it; v5 may change the Session Expiry Interval, but not from 0 [MQTT-3.14.2-2].
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
  conn.close(packet.reasonCode === RC.DISCONNECT_WITH_WILL)
}
