/**
 * SUBSCRIBE: filter checks, one SUBACK code per filter, then the retained messages each new
 * subscription asks for (Retain Handling 0 / 1 / 2; none for shared subscriptions, MQTT 5 section 4.8.2).
 *
 * @module
 */
import type { ISubscribePacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'
import { bodyOffset } from '../packet_reader.ts'
import { RC, SUBACK_FAILURE } from '../reason_codes.ts'
import { makeSubscription, type Subscription } from '../subscriptions.ts'
import { isWellFormedUtf8, parseSharedFilter, topicFilterProblem } from '../topic.ts'

/**
 * Walks the raw SUBSCRIBE / UNSUBSCRIBE payload and checks every topic filter is well-formed
 * UTF-8 [MQTT-1.5.4-1] (mqtt-packet decodes leniently). Only called when a decoded filter shows
 * a replacement character.
 */
export function filtersWellFormed(raw: Uint8Array, subscribe: boolean, v5: boolean): boolean {
  let pos = bodyOffset(raw) + 2
  if (v5) {
    let length = 0
    let multiplier = 1
    // A Variable Byte Integer has at most four bytes.
    for (let i = 0; i < 4 && pos < raw.length; i++) {
      const b = raw[pos++]!
      length += (b & 0x7f) * multiplier
      multiplier *= 128
      if ((b & 0x80) === 0) break
    }
    pos += length
  }
  // Bounded: each pass moves past one length-prefixed filter.
  while (pos + 2 <= raw.length) {
    const length = (raw[pos]! << 8) | raw[pos + 1]!
    if (!isWellFormedUtf8(raw, pos + 2, Math.min(raw.length, pos + 2 + length))) return false
    pos += 2 + length + (subscribe ? 1 : 0)
  }
  return true
}

export function handleSubscribe(conn: MqttConnection, packet: ISubscribePacket): void {
  const session = conn.session!
  const ctx = conn.ctx
  const v5 = conn.version === 5
  const list = packet.subscriptions
  if (packet.messageId === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'SUBSCRIBE with packet identifier 0') // [MQTT-2.3.1-1]
  if (list.length === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'SUBSCRIBE without topic filters') // [MQTT-3.8.3-3]
  const id = v5 ? packet.properties?.subscriptionIdentifier : undefined
  if (id === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'Subscription Identifier 0')
  if (list.some((s) => s.topic.includes('\uFFFD')) && !filtersWellFormed(conn.current, true, v5)) {
    return conn.protocolError(RC.MALFORMED_PACKET, 'SUBSCRIBE topic filter is not valid UTF-8')
  }
  const granted: number[] = []
  const added: { sub: Subscription; existed: boolean }[] = []
  for (const s of list) {
    const filter = s.topic
    const shared = parseSharedFilter(filter)
    if (shared === 'invalid' || (shared === undefined && topicFilterProblem(filter) !== undefined)) {
      granted.push(v5 ? RC.TOPIC_FILTER_INVALID : SUBACK_FAILURE)
      continue
    }
    if (shared !== undefined && s.nl === true) {
      return conn.protocolError(RC.PROTOCOL_ERROR, 'No Local on a shared subscription') // [MQTT-3.8.3-4]
    }
    const existed = session.subscriptions.get(filter) !== undefined
    const sub = makeSubscription(
      { filter, qos: s.qos, noLocal: s.nl === true, retainAsPublished: s.rap === true, retainHandling: s.rh ?? 0, id },
      ctx.topics,
    )
    const code = session.subscribe(sub)
    if (code >= 0x80) {
      granted.push(v5 ? code : SUBACK_FAILURE)
      continue
    }
    granted.push(code)
    added.push({ sub, existed })
  }
  if (added.length > 0) session.persist()
  conn.writer.encode({ cmd: 'suback', messageId: packet.messageId!, granted })
  const now = Date.now()
  for (const { sub, existed } of added) {
    if (sub.group !== undefined || sub.retainHandling === 2 || (sub.retainHandling === 1 && existed)) continue
    const retained = ctx.retained.match(session.vhost, sub.filter, now)
    if (retained.length > 0) session.outbound.sendRetained(retained, sub, now)
  }
}
