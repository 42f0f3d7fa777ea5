/**
 * Server -> client application messages: core deliveries and retained messages become PUBLISH
 * packets, and the client's PUBACK / PUBREC / PUBCOMP settle them.
 *
 * QoS of a delivery: the minimum of the published QoS and the highest QoS among the session's
 * matching subscriptions [MQTT-3.8.4-8]; one PUBLISH per message however many filters match,
 * carrying every matching v5 Subscription Identifier [MQTT-3.3.4-3, -4]. No-local subscriptions
 * do not count for the session's own messages [MQTT-3.8.3-3]. A message arrives in both session
 * queues when it matches filters of both QoS classes; the queue of the class that wins delivers
 * it and the other copy is dropped, so the client sees it once.
 *
 * QoS 1 is acked in the core on PUBACK; QoS 2 on PUBCOMP, and deliveries whose PUBREL went out
 * are acked when the connection ends so they are never sent twice. A PUBLISH larger than the
 * client's Maximum Packet Size is dropped and acked as if sent [MQTT-3.1.2-25].
 *
 * A persistent session's next connection resends what was unacknowledged with the original
 * packet ids [MQTT-4.4.0-1]: PUBREL for QoS 2 exchanges that reached it, at once; a PUBLISH
 * (with DUP) when the core redelivers its message, recognised by the message's durable key.
 * Messages without one (no data directory) come again under new ids.
 *
 * @module
 */
import type { Delivery, Message, Session } from '../../src/api.ts'
import { PacketIds } from './packet_ids.ts'
import { ACK, type PacketWriter } from './packet_writer.ts'
import { ANN, publishedQos, toPublishProperties, type PublishProperties } from './properties.ts'
import { logFault, RC } from './reason_codes.ts'
import { isExpired, type RetainedMessage } from './retained.ts'
import type { OutboundCarry } from './session_registry.ts'
import type { Subscription, Subscriptions } from './subscriptions.ts'
import type { TopicMapper } from './topic.ts'

/** What the outbound side needs from its session. */
export interface OutboundHost {
  readonly coreSession: Session
  readonly writer: PacketWriter
  readonly version: 3 | 4 | 5
  readonly clientId: string
  readonly topics: TopicMapper
  readonly subscriptions: Subscriptions
  /** In-flight QoS 1/2 messages the client accepts (its Receive Maximum). */
  readonly window: number
  /** Topic aliases the client accepts (its Topic Alias Maximum). */
  readonly topicAliasMaximum: number
  readonly logContext: Record<string, unknown>
  /** The session outlives the connection: remember what each packet id carries. */
  readonly persistent: boolean
}

export class Outbound {
  #host: OutboundHost
  #ids: PacketIds | undefined
  /** topic -> alias we told the client. */
  #aliases: Map<string, number> | undefined
  /** Retained messages waiting for room in the in-flight window. */
  #waiting: { message: RetainedMessage; sub: Subscription; qos: 1 | 2 }[] | undefined
  /** Persistent sessions: packet id -> carry key of the message it carries. */
  #keys: Map<number, string> | undefined
  /** Packet ids the previous connection used, for messages not redelivered yet. */
  #carried: OutboundCarry['byKey'] | undefined

  constructor(host: OutboundHost) {
    this.#host = host
  }

  /** A core delivery (SessionEvents.deliver). Hot path: encodes only, the core's flush writes. */
  deliver(d: Delivery): void {
    const host = this.#host
    const consumer = host.subscriptions.consumer(d.consumerTag)
    if (consumer === undefined) return this.#settle(d.id)
    const m = d.message
    let maxQos = -1
    let retain = false
    let ids: number | number[] | undefined
    const sub = consumer.sub
    if (sub !== undefined) {
      maxQos = sub.qos
      retain = sub.retainAsPublished && m.annotations?.[ANN.retain] === true
      ids = sub.id
    } else {
      const matches = host.subscriptions.match(m.routingKey)
      const own = m.annotations?.[ANN.client] === host.clientId
      const v5 = host.version === 5
      let rap = false
      for (let i = 0; i < matches.length; i++) {
        const s = matches[i]!
        if (own && s.noLocal) continue
        if (s.qos > maxQos) maxQos = s.qos
        if (s.retainAsPublished) rap = true
        if (v5 && s.id !== undefined) {
          if (ids === undefined) ids = s.id
          else if (typeof ids === 'number') ids = ids === s.id ? ids : [ids, s.id]
          else if (!ids.includes(s.id)) ids.push(s.id)
        }
      }
      // Nobody wants it here, or the other QoS class's queue delivers it.
      if (maxQos < 0 || (maxQos > 0 ? 1 : 0) !== consumer.queue) {
        if (!consumer.noAck) this.#settle(d.id)
        return
      }
      retain = rap && m.annotations?.[ANN.retain] === true
    }
    const published = publishedQos(m)
    const qos = (published < maxQos ? published : maxQos) as 0 | 1 | 2
    const key = qos > 0 && host.persistent ? carryKey(d) : undefined
    this.#publish(consumer.noAck ? 0 : d.id, m, qos, retain, ids, d.redelivered, key)
  }

  /**
   * A resumed persistent session: PUBREL again for the QoS 2 exchanges that had reached it, and
   * the old packet ids kept for the messages the core will redeliver. Call right after CONNACK.
   */
  resume(carry: OutboundCarry): void {
    const ids = (this.#ids ??= new PacketIds())
    ids.next = carry.next
    for (const id of carry.released) {
      ids.restoreReleased(id)
      this.#host.writer.ack(ACK.pubrel, id)
    }
    if (carry.byKey.size > 0) this.#carried = carry.byKey
  }

  /** What the session's next connection needs to resend with the same packet ids. */
  carry(): OutboundCarry | undefined {
    const ids = this.#ids
    if (ids === undefined) return undefined
    const byKey: OutboundCarry['byKey'] = new Map()
    const released: number[] = []
    for (const [id, inFlight] of ids.entries()) {
      if (inFlight.released) released.push(id)
      else {
        const key = this.#keys?.get(id)
        if (key !== undefined) byKey.set(key, { packetId: id, qos: inFlight.qos })
      }
    }
    // Carried over and not redelivered on this connection: still owed to the client.
    if (this.#carried !== undefined) for (const [key, v] of this.#carried) if (!byKey.has(key)) byKey.set(key, v)
    return { byKey, released, next: ids.next }
  }

  /** Retained messages for a new subscription [MQTT-3.3.1-9]: RETAIN set, QoS capped by the subscription. */
  sendRetained(messages: readonly RetainedMessage[], sub: Subscription, now: number): void {
    for (const message of messages) {
      const qos = (message.qos < sub.qos ? message.qos : sub.qos) as 0 | 1 | 2
      if (qos > 0 && this.#inFlight() >= this.#host.window) {
        ;(this.#waiting ??= []).push({ message, sub, qos: qos as 1 | 2 })
        continue
      }
      this.#publishRetained(message, sub, qos, now)
    }
  }

  /** PUBACK from the client. */
  puback(packetId: number): void {
    const deliveryId = this.#take(packetId)
    if (deliveryId < 0) return logFault('puback-unknown', `MQTT PUBACK for unknown packet id ${packetId}`, this.#host.logContext)
    if (deliveryId > 0) this.#settle(deliveryId)
    this.#pump()
  }

  /** PUBREC from the client: PUBREL goes out, or (reason >= 0x80) the message is given up. */
  pubrec(packetId: number, reasonCode: number): void {
    const writer = this.#host.writer
    const inFlight = this.#ids?.get(packetId)
    if (inFlight === undefined || inFlight.qos !== 2) {
      writer.ack(ACK.pubrel, packetId, RC.PACKET_ID_NOT_FOUND)
      return
    }
    if (reasonCode >= 0x80) {
      const deliveryId = this.#take(packetId)
      if (deliveryId > 0) this.#settle(deliveryId)
      return this.#pump()
    }
    this.#ids!.release(packetId)
    writer.ack(ACK.pubrel, packetId)
  }

  /** PUBCOMP from the client: the QoS 2 exchange is complete. */
  pubcomp(packetId: number): void {
    const deliveryId = this.#take(packetId)
    if (deliveryId > 0) this.#settle(deliveryId)
    if (deliveryId >= 0) this.#pump()
  }

  /** Core deliveries the client already has (PUBREL sent): to ack before the session closes. */
  releasedDeliveries(): number[] {
    return this.#ids?.releasedDeliveries() ?? []
  }

  /** Frees a packet id; its delivery id, or -1 when it was not in flight. */
  #take(packetId: number): number {
    this.#keys?.delete(packetId)
    return this.#ids?.take(packetId) ?? -1
  }

  #inFlight(): number {
    return this.#ids?.size ?? 0
  }

  /** Sends waiting retained messages while the window has room. */
  #pump(): void {
    const waiting = this.#waiting
    if (waiting === undefined || waiting.length === 0) return
    const now = Date.now()
    // Bounded by the window: each pass takes one packet id.
    while (waiting.length > 0 && this.#inFlight() < this.#host.window) {
      const next = waiting.shift()!
      this.#publishRetained(next.message, next.sub, next.qos, now)
    }
  }

  #publishRetained(message: RetainedMessage, sub: Subscription, qos: 0 | 1 | 2, now: number): void {
    if (isExpired(message, now)) return
    let properties: PublishProperties | undefined
    if (this.#host.version === 5) {
      const stored = message.properties
      if (stored !== undefined || sub.id !== undefined) properties = { ...stored }
      if (stored?.messageExpiryInterval !== undefined) {
        properties!.messageExpiryInterval = Math.max(0, stored.messageExpiryInterval - Math.floor((now - message.storedAt) / 1000))
      }
      if (sub.id !== undefined) properties!.subscriptionIdentifier = sub.id
    }
    this.#write(0, message.topic, message.payload, qos, true, false, properties)
  }

  #publish(
    deliveryId: number,
    m: Message,
    qos: 0 | 1 | 2,
    retain: boolean,
    ids: number | number[] | undefined,
    redelivered: boolean,
    key: string | undefined,
  ): void {
    const host = this.#host
    let properties: PublishProperties | undefined
    if (host.version === 5) {
      properties = toPublishProperties(m, host.topics, Date.now())
      if (ids !== undefined) (properties ??= {}).subscriptionIdentifier = ids
    }
    const sent = this.#write(deliveryId, host.topics.toTopic(m.routingKey), m.body, qos, retain, redelivered && qos > 0, properties, key)
    // QoS 0 out of the QoS 1 queue (a QoS 0 message), or a dropped packet: done with it now.
    if (deliveryId !== 0 && (qos === 0 || !sent)) this.#settle(deliveryId)
  }

  /** Encodes one PUBLISH; false when it was dropped for the client's Maximum Packet Size. */
  #write(
    deliveryId: number,
    topic: string,
    payload: Uint8Array,
    qos: 0 | 1 | 2,
    retain: boolean,
    dup: boolean,
    properties: PublishProperties | undefined,
    key?: string,
  ): boolean {
    const host = this.#host
    let packetId = 0
    if (qos > 0) {
      const ids = (this.#ids ??= new PacketIds())
      const carried = key === undefined ? undefined : this.#carried?.get(key)
      if (carried !== undefined) {
        this.#carried!.delete(key!)
        if (this.#carried!.size === 0) this.#carried = undefined
      }
      packetId =
        carried !== undefined && carried.qos === qos ? ids.allocateAt(carried.packetId, deliveryId, qos) : ids.allocate(deliveryId, qos as 1 | 2)
      if (packetId === 0) return false
      if (key !== undefined) (this.#keys ??= new Map()).set(packetId, key)
    }
    let sentTopic = topic
    let newAlias = 0
    if (host.topicAliasMaximum > 0 && host.version === 5) {
      const aliases = (this.#aliases ??= new Map())
      const alias = aliases.get(topic)
      if (alias !== undefined) {
        sentTopic = ''
        ;(properties ??= {}).topicAlias = alias
      } else if (aliases.size < host.topicAliasMaximum) {
        newAlias = aliases.size + 1
        ;(properties ??= {}).topicAlias = newAlias
      }
    }
    const ok = host.writer.publish({ topic: sentTopic, payload, qos, dup, retain, packetId, properties })
    if (!ok) {
      if (packetId !== 0) this.#take(packetId)
      logFault('too-large-for-client', `MQTT PUBLISH of ${payload.length} bytes dropped: over the client's Maximum Packet Size`, host.logContext)
      return false
    }
    // Only a PUBLISH that went out teaches the client an alias.
    if (newAlias !== 0) this.#aliases!.set(topic, newAlias)
    return true
  }

  #settle(deliveryId: number): void {
    try {
      this.#host.coreSession.settle(deliveryId, 'ack')
    } catch {
      // Already settled (the session was recovered or closed meanwhile): nothing to do.
    }
  }
}

/** Names a delivered message across connections: its queue and durable key. */
function carryKey(d: Delivery): string | undefined {
  const key = d.durableKey
  return key === undefined ? undefined : `${d.queue}\u0000${key}`
}
