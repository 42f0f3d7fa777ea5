/**
 * PINGREQ -> PINGRESP [MQTT-3.12.4-1]. Any packet already reset the keep-alive clock.
 *
 * @module
 */
import type { MqttConnection } from '../connection.ts'

export function handlePingreq(conn: MqttConnection): void {
  conn.writer.pingresp()
}
