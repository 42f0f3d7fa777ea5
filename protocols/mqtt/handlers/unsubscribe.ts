/**
 * UNSUBSCRIBE: removes each filter; v5 UNSUBACK says per filter whether it existed, or 0x8F Topic
 * Filter invalid for a filter no SUBSCRIBE could have made (MQTT 5.0 3.11.3: the UNSUBACK reason
 * for it; the packet itself is well-formed, so no disconnect as Mosquitto's 0x81). v3.1.1
 * UNSUBACK carries no codes.
 *
 * @module
 */
import type { IUnsubscribePacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'
import { reasonFor, RC } from '../reason_codes.ts'
import { parseSharedFilter, topicFilterProblem } from '../topic.ts'
import { filtersWellFormed } from './subscribe.ts'

export function handleUnsubscribe(conn: MqttConnection, packet: IUnsubscribePacket): void {
  const session = conn.session!
  const v5 = conn.version === 5
  const filters = packet.unsubscriptions
  if (packet.messageId === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'UNSUBSCRIBE with packet identifier 0') // [MQTT-2.3.1-1]
  if (filters.length === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'UNSUBSCRIBE without topic filters') // [MQTT-3.10.3-2]
  if (filters.some((f) => f.includes('\uFFFD')) && !filtersWellFormed(conn.current, false, v5)) {
    return conn.protocolError(RC.MALFORMED_PACKET, 'UNSUBSCRIBE topic filter is not valid UTF-8')
  }
  const codes: number[] = []
  let changed = false
  for (const filter of filters) {
    const shared = parseSharedFilter(filter)
    if (shared === 'invalid' || (shared === undefined && topicFilterProblem(filter) !== undefined)) {
      codes.push(RC.TOPIC_FILTER_INVALID)
      continue
    }
    try {
      const removed = session.subscriptions.remove(filter)
      changed ||= removed
      codes.push(removed ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED)
    } catch (error) {
      codes.push(reasonFor(error, 'UNSUBSCRIBE', conn.logContext))
    }
  }
  if (changed) session.persist()
  conn.writer.encode(v5 ? { cmd: 'unsuback', messageId: packet.messageId!, granted: codes } : { cmd: 'unsuback', messageId: packet.messageId!, granted: [] })
}
