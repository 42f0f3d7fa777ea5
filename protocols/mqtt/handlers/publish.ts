/**
 * PUBLISH from the client: topic alias, topic checks, QoS 2 duplicates, retained store, then the
 * core. QoS 1 / 2 are acknowledged when the core confirms (session.ts).
 *
 * @module
 */
import type { IPublishPacket } from 'mqtt-packet'
import type { MqttConnection } from '../connection.ts'
import { bodyOffset } from '../packet_reader.ts'
import type { PublishProperties } from '../properties.ts'
import { reasonFor, RC } from '../reason_codes.ts'
import { isWellFormedUtf8, topicNameProblem } from '../topic.ts'

/** The properties a retained message keeps: not the alias, not subscription identifiers. */
function retainedProperties(props: PublishProperties | undefined): PublishProperties | undefined {
  if (props === undefined) return undefined
  const { topicAlias: _alias, subscriptionIdentifier: _ids, ...rest } = props
  return Object.keys(rest).length > 0 ? rest : undefined
}

export function handlePublish(conn: MqttConnection, packet: IPublishPacket): void {
  const session = conn.session!
  const ctx = conn.ctx
  const qos = packet.qos
  const props = packet.properties as PublishProperties | undefined
  let topic = packet.topic
  const packetId = packet.messageId ?? 0
  if (qos > 0 && packetId === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'PUBLISH QoS > 0 with packet identifier 0') // [MQTT-2.3.1-1]

  if (props !== undefined) {
    if (props.subscriptionIdentifier !== undefined) {
      return conn.protocolError(RC.PROTOCOL_ERROR, 'PUBLISH from a client with a Subscription Identifier')
    }
    const alias = props.topicAlias
    if (alias !== undefined) {
      // [MQTT-3.3.2-8], [MQTT-3.3.2-9]: 0 and above our Topic Alias Maximum are invalid.
      if (alias === 0 || alias > ctx.opts.topicAliasMaximum) return conn.protocolError(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} out of range`)
      const resolved = session.resolveAlias(alias, topic)
      if (resolved === undefined) return conn.protocolError(RC.PROTOCOL_ERROR, `unknown topic alias ${alias}`)
      topic = resolved
    }
  }
  const problem = topicNameProblem(topic)
  if (problem !== undefined) {
    // An empty topic without an alias is a protocol error [MQTT-3.3.2-1]; wildcards and NUL make the name invalid.
    return conn.protocolError(problem === 'empty' ? RC.PROTOCOL_ERROR : RC.TOPIC_NAME_INVALID, `invalid PUBLISH topic "${topic}": ${problem}`)
  }
  // mqtt-packet decodes ill-formed UTF-8 leniently: check the raw topic [MQTT-1.5.4-1].
  const raw = conn.current
  const at = bodyOffset(raw)
  const length = (raw[at]! << 8) | raw[at + 1]!
  if (!isWellFormedUtf8(raw, at + 2, at + 2 + length)) return conn.protocolError(RC.MALFORMED_PACKET, 'PUBLISH topic is not valid UTF-8')

  // A resent QoS 2 message awaiting PUBREL is not routed again [MQTT-4.3.3-10].
  if (qos === 2 && session.duplicateQos2(packetId)) return
  // One more unreleased QoS 2 message than the Receive Maximum CONNACK announced (MQTT 5.0
  // section 4.9). Only QoS 2 counts: QoS 1 is acknowledged as soon as the core confirms it.
  if (qos === 2 && conn.version === 5) {
    const receiveMaximum = ctx.opts.serverReceiveMaximum ?? 65535
    if (session.unreleasedQos2 >= receiveMaximum) {
      return conn.protocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, `more than ${receiveMaximum} QoS 2 messages awaiting PUBREL`)
    }
  }

  const payload = packet.payload as Uint8Array
  if (payload.length > ctx.broker.maxMessageSize) {
    if (qos > 0 && conn.version === 5) return session.refusePublish(qos, packetId, RC.PACKET_TOO_LARGE)
    return conn.protocolError(RC.PACKET_TOO_LARGE, `message of ${payload.length} bytes is over the broker's maximum message size`)
  }
  const now = Date.now()
  try {
    session.publish(session.message(topic, payload, qos, packet.retain, props, now), qos, packetId)
  } catch (error) {
    const reason = reasonFor(error, 'PUBLISH', conn.logContext)
    if (qos > 0 && conn.version === 5) return session.refusePublish(qos, packetId, reason)
    // No way to refuse a QoS 0 (or a v3) publish but to disconnect, as RabbitMQ does.
    return conn.disconnect(reason, true)
  }
  if (packet.retain) {
    ctx.retained.set(session.vhost, { topic, payload, qos, properties: retainedProperties(props), storedAt: now })
  }
  conn.publishReceived()
}
