/**
 * The client's acknowledgements of our PUBLISH packets: PUBACK (QoS 1), PUBREC and PUBCOMP (QoS 2).
 *
 * @module
 */
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'

export function handlePuback(conn: MqttConnection, packet: IPubackPacket): void {
  conn.session!.outbound.puback(packet.messageId!)
}

export function handlePubrec(conn: MqttConnection, packet: IPubrecPacket): void {
  conn.session!.outbound.pubrec(packet.messageId!, packet.reasonCode ?? 0)
}

export function handlePubcomp(conn: MqttConnection, packet: IPubcompPacket): void {
  conn.session!.outbound.pubcomp(packet.messageId!)
}
