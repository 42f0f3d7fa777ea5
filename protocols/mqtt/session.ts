/**
 * One MQTT session on one connection: the core Connection (opened at CONNECT), the core Session
 * (opened on first publish or subscribe, so an idle client costs little), inbound publisher
 * confirms -> PUBACK / PUBREC, inbound QoS 2 state, topic aliases from the client, the will, and
 * how the session ends (persisted for later, or gone with its queues).
 *
 * The core's events (SessionEvents) arrive here: deliveries go to outbound.ts, confirms become
 * acknowledgements, and `flush` writes the burst.
 *
 * @module
 */
import type { Annotations, AuthenticatedUser, BrokerError, Connection, Delivery, Message, Session, SessionEvents } from '../../src/api.ts'
import { log } from '../../src/log.ts'
import type { AdapterContext } from './options.ts'
import { Outbound, type OutboundHost } from './outbound.ts'
import { ACK, type PacketWriter } from './packet_writer.ts'
import { ANN, toAnnotations, toMessageProperties } from './properties.ts'
import { reasonFor, RC } from './reason_codes.ts'
import type { LiveSession, SessionRecord, SessionRegistry } from './session_registry.ts'
import { makeSubscription, type Subscription, Subscriptions, type SubscriptionsHost } from './subscriptions.ts'
import type { TopicMapper } from './topic.ts'
import type { Will } from './will.ts'

/** What a session needs from its connection. */
export interface SessionHost {
  readonly writer: PacketWriter
  readonly version: 3 | 4 | 5
  readonly logContext: Record<string, unknown>
  readonly remoteAddress: string
  /** Writes what is queued, unless the read path will at the end of its chunk. */
  flushSoon(): void
  /** A client fault: DISCONNECT with `reason` (v5), will published, connection closed. */
  protocolError(reason: number, message: string): void
  /** Server-side DISCONNECT (v5) and close. */
  disconnect(reason: number, will: boolean): void
}

export interface SessionSettings {
  clientId: string
  vhost: string
  user: AuthenticatedUser
  /** Granted Session Expiry Interval, seconds. */
  expiry: number
  will: Will | undefined
  /** The client's Receive Maximum (or the configured default). */
  window: number
  /** The client's Topic Alias Maximum. */
  topicAliasMaximum: number
  /** Registry key (vhost + client id). */
  key: string
}

const PACKET_ID_MASK = 0xffff
const UNROUTABLE = 1 << 18

/** Events of a short-lived core session that only publishes (delayed wills). */
const SILENT: SessionEvents = {
  deliver() {},
  flush() {},
  settled() {},
  rejected() {},
  consumerCancelled() {},
  closed() {},
}

export class MqttSession implements SessionEvents, LiveSession, SubscriptionsHost, OutboundHost {
  readonly host: SessionHost
  readonly ctx: AdapterContext
  readonly core: Connection
  readonly clientId: string
  readonly vhost: string
  readonly user: AuthenticatedUser
  readonly key: string
  readonly window: number
  readonly topicAliasMaximum: number
  /** Granted Session Expiry Interval, seconds; a v5 DISCONNECT may change it. */
  expiry: number
  will: Will | undefined
  #subscriptions: Subscriptions | undefined
  #outbound: Outbound | undefined
  #annotations: Annotations | undefined
  #coreSession: Session | undefined
  #writable = true
  #confirmSeq = 0
  /** confirm id -> packet id | qos << 16 | unroutable flag. */
  #confirms: Map<number, number> | undefined
  /** Inbound QoS 2 packet ids awaiting PUBREL -> whether PUBREC went out [MQTT-4.3.3-10]. */
  #inbound: Map<number, boolean> | undefined
  /** Topic aliases the client set [MQTT-3.3.2-12]. */
  #aliases: Map<number, string> | undefined
  #ended = false
  /** Whether this session's durable state existed or was created (it must be removed at expiry 0). */
  #persisted = false

  constructor(host: SessionHost, ctx: AdapterContext, core: Connection, settings: SessionSettings) {
    this.host = host
    this.ctx = ctx
    this.core = core
    this.clientId = settings.clientId
    this.vhost = settings.vhost
    this.user = settings.user
    this.key = settings.key
    this.expiry = settings.expiry
    this.will = settings.will
    this.window = settings.window
    this.topicAliasMaximum = settings.topicAliasMaximum
    core.onForcedClose(() => host.disconnect(RC.SERVER_SHUTTING_DOWN, false))
  }

  get version(): 3 | 4 | 5 {
    return this.host.version
  }

  get topics(): TopicMapper {
    return this.ctx.topics
  }

  get writer(): PacketWriter {
    return this.host.writer
  }

  get logContext(): Record<string, unknown> {
    return this.host.logContext
  }

  get exchange(): string {
    return this.ctx.opts.exchange
  }

  get queueLimit(): number {
    return this.ctx.opts.sessionQueueLimit
  }

  /** The session outlives its connection: its queues are durable. */
  get persistent(): boolean {
    return this.expiry > 0
  }

  /** x-expires of the session queues. */
  get expiryMs(): number {
    return Math.min(Math.max(this.expiry, 1) * 1000, 0xffffffff)
  }

  /** x-expires of durable shared queues: no member's session outlives the longest expiry. */
  get sharedExpiryMs(): number {
    return Math.min(Math.max(this.ctx.opts.maxSessionExpiry, 1) * 1000, 0xffffffff)
  }

  get registry(): SessionRegistry {
    return this.ctx.registry
  }

  /** Created on first use, like everything an idle connection does not need. */
  get subscriptions(): Subscriptions {
    return (this.#subscriptions ??= new Subscriptions(this))
  }

  get outbound(): Outbound {
    return (this.#outbound ??= new Outbound(this))
  }

  /** Annotations of this client's publishes: they name the publisher, for no-local. */
  get annotations(): Annotations {
    return (this.#annotations ??= Object.freeze({ [ANN.client]: this.clientId }))
  }

  /** The core session, opened on first use. */
  get coreSession(): Session {
    let s = this.#coreSession
    if (s === undefined) {
      s = this.core.openSession(this)
      // One in-flight window for all of the session's consumers: the client's Receive Maximum.
      s.setPrefetch(this.window, 'session')
      if (!this.#writable) s.setWritable(false)
      this.#coreSession = s
    }
    return s
  }

  /** After CONNACK: resume a persisted session's subscriptions, persist a new one. */
  start(record: SessionRecord | undefined): void {
    // A persistent session's QoS 2 exchanges survive reconnects: the registry holds them.
    if (this.expiry > 0) this.#inbound = this.ctx.registry.inbound(this.key)
    if (record !== undefined) {
      this.#persisted = true
      const carry = this.ctx.registry.takeOutbound(this.key)
      if (carry !== undefined) this.outbound.resume(carry)
      for (const r of record.subscriptions) {
        try {
          this.subscriptions.add(makeSubscription(r, this.topics))
        } catch (error) {
          reasonFor(error, 'resumed subscription', this.host.logContext)
        }
      }
    }
    this.persist()
  }

  /** Saves the session's subscriptions and expiry when it outlives its connection. */
  persist(disconnectedAt: number | null = null): void {
    if (this.expiry === 0) return
    this.#persisted = true
    this.ctx.registry.save(this.key, { expiry: this.expiry, disconnectedAt, subscriptions: this.#subscriptions?.records() ?? [] })
  }

  setWritable(writable: boolean): void {
    this.#writable = writable
    this.#coreSession?.setWritable(writable)
  }

  // ---- inbound application messages ----

  /** The topic an alias stands for, after registering `topic` under it when given. */
  resolveAlias(alias: number, topic: string): string | undefined {
    if (topic !== '') {
      ;(this.#aliases ??= new Map()).set(alias, topic)
      return topic
    }
    return this.#aliases?.get(alias)
  }

  /** Inbound QoS 2 messages awaiting PUBREL (what our Receive Maximum bounds). */
  get unreleasedQos2(): number {
    return this.#inbound?.size ?? 0
  }

  /** QoS 2: whether `packetId` is a duplicate awaiting PUBREL; answers PUBREC again if confirmed. */
  duplicateQos2(packetId: number): boolean {
    const state = this.#inbound?.get(packetId)
    if (state === undefined) return false
    if (state) this.host.writer.ack(ACK.pubrec, packetId)
    return true
  }

  /**
   * Routes an inbound PUBLISH. QoS 1 and 2 ask the core for a confirm; PUBACK / PUBREC go out
   * when it arrives (`settled`) [MQTT-4.3.2-2]. Throws the core's BrokerError.
   */
  publish(message: Message, qos: number, packetId: number): void {
    const s = this.coreSession
    if (qos === 0) {
      s.publish(message)
      return
    }
    const confirmId = ++this.#confirmSeq
    const confirms = (this.#confirms ??= new Map())
    const entry = packetId | (qos << 16)
    confirms.set(confirmId, entry)
    if (qos === 2) (this.#inbound ??= new Map()).set(packetId, false)
    let result
    try {
      result = s.publish(message, { confirmId })
    } catch (error) {
      confirms.delete(confirmId)
      if (qos === 2) this.#inbound!.delete(packetId)
      throw error
    }
    if (result === 'unroutable' && confirms.has(confirmId)) confirms.set(confirmId, entry | UNROUTABLE)
  }

  /** A publish the core refused before routing: answer it so the client does not wait. */
  refusePublish(qos: number, packetId: number, reason: number): void {
    if (qos === 0) return
    if (qos === 2) this.#inbound?.delete(packetId)
    // v3 has no negative acknowledgement; the client resends after reconnecting.
    if (this.version === 5) this.host.writer.ack(qos === 1 ? ACK.puback : ACK.pubrec, packetId, reason)
  }

  /** PUBREL: the QoS 2 exchange ends with PUBCOMP [MQTT-4.3.3-11]. */
  pubrel(packetId: number): void {
    const known = this.#inbound?.delete(packetId) ?? false
    this.host.writer.ack(ACK.pubcomp, packetId, known ? 0 : RC.PACKET_ID_NOT_FOUND)
  }

  /** Builds the message of a will or PUBLISH. */
  message(topic: string, payload: Uint8Array, qos: number, retain: boolean, props: Will['properties'], now: number): Message {
    const topics = this.topics
    return {
      exchange: this.ctx.opts.exchange,
      routingKey: topics.toRoutingKey(topic),
      properties: toMessageProperties(qos, props, topics),
      body: payload,
      annotations: toAnnotations(this.annotations, qos, retain, props, now),
    }
  }

  // ---- subscriptions ----

  /** Adds a subscription; returns the granted QoS or a failure reason code. */
  subscribe(sub: Subscription): number {
    try {
      this.subscriptions.add(sub)
    } catch (error) {
      return reasonFor(error, 'SUBSCRIBE', this.host.logContext)
    }
    return sub.qos
  }

  // ---- SessionEvents ----

  deliver(delivery: Delivery): void {
    this.outbound.deliver(delivery)
  }

  flush(): void {
    this.host.flushSoon()
  }

  settled(confirmIds: readonly number[]): void {
    const confirms = this.#confirms
    if (confirms === undefined) return
    const writer = this.host.writer
    const v5 = this.version === 5
    for (const id of confirmIds) {
      const entry = confirms.get(id)
      if (entry === undefined) continue
      confirms.delete(id)
      const packetId = entry & PACKET_ID_MASK
      const reason = v5 && (entry & UNROUTABLE) !== 0 ? RC.NO_MATCHING_SUBSCRIBERS : 0
      if (((entry >>> 16) & 3) === 1) {
        writer.ack(ACK.puback, packetId, reason)
      } else if (this.#inbound?.has(packetId)) {
        this.#inbound.set(packetId, true)
        writer.ack(ACK.pubrec, packetId, reason)
      }
    }
  }

  rejected(confirmIds: readonly number[]): void {
    const confirms = this.#confirms
    if (confirms === undefined) return
    for (const id of confirmIds) {
      const entry = confirms.get(id)
      if (entry === undefined) continue
      confirms.delete(id)
      // A queue refused it (overflow reject-publish): v5 says so; v3 gets no ack and resends.
      this.refusePublish((entry >>> 16) & 3, entry & PACKET_ID_MASK, RC.QUOTA_EXCEEDED)
    }
  }

  consumerCancelled(tag: string): void {
    if (this.#ended) return
    // A session queue was deleted under us (management, AMQP): as RabbitMQ, the client goes.
    this.#subscriptions?.consumerCancelled(tag)
    log.warn('MQTT session queue deleted; disconnecting the client', this.host.logContext)
    this.host.disconnect(RC.ADMINISTRATIVE_ACTION, true)
  }

  closed(error: BrokerError): void {
    if (this.#ended) return
    this.host.disconnect(reasonFor(error, 'session', this.host.logContext), true)
  }

  // ---- the end ----

  /** Another connection took this client id over [MQTT-3.1.4-3]. */
  takeOver(cleanStart: boolean): void {
    const will = this.will
    this.will = undefined
    // A delayed will is not sent when the session carries on in the new connection [MQTT-3.1.3-9].
    if (will !== undefined && (will.delay === 0 || cleanStart || this.expiry === 0)) this.#publishWill(will)
    this.host.disconnect(RC.SESSION_TAKEN_OVER, false)
  }

  /**
   * The connection is gone. `withWill`: it ended without a normal DISCONNECT, so the will is
   * published (now, or after its delay while the session lives). Then the session either waits
   * for its client (persisted, queues kept) or ends (queues and record deleted). Idempotent.
   */
  end(withWill: boolean): void {
    if (this.#ended) return
    this.#ended = true
    // The next connection of a persistent session resends with the same packet ids.
    if (this.expiry > 0 && this.#outbound !== undefined) {
      const carry = this.#outbound.carry()
      if (carry !== undefined) this.ctx.registry.keepOutbound(this.key, carry)
    }
    const released = this.#outbound?.releasedDeliveries() ?? []
    if (released.length > 0 && this.#coreSession !== undefined) {
      for (const id of released) {
        try {
          this.#coreSession.settle(id, 'ack')
        } catch {
          // Settled meanwhile.
        }
      }
    }
    const will = this.will
    this.will = undefined
    if (withWill && will !== undefined) {
      const delay = Math.min(will.delay, this.expiry)
      if (delay > 0) this.#scheduleWill(will, delay)
      else this.#publishWill(will)
    }
    const registry = this.ctx.registry
    const current = registry.holds(this.key, this)
    registry.release(this.key, this)
    try {
      if (this.expiry > 0) {
        this.persist(Date.now())
      } else if (current || !this.#persisted) {
        // The session ends now (a persisted one taken over lives on in its successor): it leaves
        // its shared groups, and its durable queues and record go with it.
        const emptied = this.#subscriptions?.leaveSharedGroups() ?? []
        if (this.#persisted) {
          this.subscriptions.deleteSessionQueues()
          emptied.push(...registry.delete(this.key))
        }
        if (emptied.length > 0) this.subscriptions.deleteSharedQueues(emptied)
      }
    } catch (error) {
      reasonFor(error, 'session end', this.host.logContext)
    } finally {
      this.core.close()
    }
  }

  #publishWill(will: Will): void {
    try {
      const message = this.message(will.topic, will.payload, will.qos, will.retain, will.properties, Date.now())
      this.coreSession.publish(message)
      retainWill(this.ctx, this.vhost, will)
    } catch (error) {
      reasonFor(error, 'will', this.host.logContext)
    }
  }

  /**
   * A will published after its delay, through a short-lived core connection of the same user.
   * The timer's closure holds only what it needs, not this session.
   */
  #scheduleWill(will: Will, seconds: number): void {
    const ctx = this.ctx
    const info = { vhost: this.vhost, user: this.user, clientId: this.clientId, remoteAddress: this.host.remoteAddress }
    const logContext = { ...this.host.logContext }
    const topics = ctx.topics
    const annotations = this.annotations
    ctx.wills.schedule(this.key, seconds, () => {
      let core: Connection | undefined
      try {
        core = ctx.broker.connect({ protocol: 'mqtt', vhost: info.vhost, user: info.user, remoteAddress: info.remoteAddress, clientName: info.clientId })
        const message: Message = {
          exchange: ctx.opts.exchange,
          routingKey: topics.toRoutingKey(will.topic),
          properties: toMessageProperties(will.qos, will.properties, topics),
          body: will.payload,
          annotations: toAnnotations(annotations, will.qos, will.retain, will.properties, Date.now()),
        }
        core.openSession(SILENT).publish(message)
        retainWill(ctx, info.vhost, will)
      } catch (error) {
        reasonFor(error, 'delayed will', logContext)
      } finally {
        core?.close()
      }
    })
  }
}

/** A will with RETAIN becomes the retained message of its topic [MQTT-3.1.2-17]. */
function retainWill(ctx: AdapterContext, vhost: string, will: Will): void {
  if (!will.retain) return
  ctx.retained.set(vhost, { topic: will.topic, payload: will.payload, qos: will.qos, properties: will.properties, storedAt: Date.now() })
}
