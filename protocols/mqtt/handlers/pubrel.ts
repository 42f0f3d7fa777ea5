/**
 * PUBREL: the client releases a QoS 2 message we hold; PUBCOMP ends the exchange [MQTT-4.3.3-11].
 *
 * @module
 */
import type { IPubrelPacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'

export function handlePubrel(conn: MqttConnection, packet: IPubrelPacket): void {
  conn.session!.pubrel(packet.messageId!)
}
