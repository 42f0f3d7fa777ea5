/**
 * AUTH: enhanced authentication is not offered (CONNACK refuses an Authentication Method), so an
 * AUTH packet is a protocol error (MQTT 5 section 4.12).
 *
 * @module
 */
import type { MqttConnection } from '../connection.ts'
import { RC } from '../reason_codes.ts'

export function handleAuth(conn: MqttConnection): void {
  conn.protocolError(RC.PROTOCOL_ERROR, 'AUTH without an authentication method in CONNECT')
}
