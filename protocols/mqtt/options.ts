/**
 * The MQTT adapter's settings and the state its connections share (one per adapter instance,
 * so the TCP listener and a WebSocket mount see the same sessions and retained messages).
 *
 * @module
 */
import type { Broker } from '../../src/api.ts'
import type { RetainedStore } from './retained.ts'
import type { SessionRegistry } from './session_registry.ts'
import type { TopicMapper } from './topic.ts'
import type { WillScheduler } from './will.ts'

export interface MqttOptions {
  /** Largest packet accepted from a client, bytes (announced to v5 clients). */
  maxPacketSize: number
  /** The vhost of a username without a "vhost:" prefix. */
  defaultVhost: string
  /** The topic exchange MQTT publishes to and binds on. */
  exchange: string
  /** In-flight QoS 1/2 deliveries for a client that sets no Receive Maximum. */
  receiveMaximum: number
  /**
   * Our Receive Maximum, announced to v5 clients in CONNACK: QoS 2 messages a client may have
   * unreleased (no PUBREL yet) at once; one more is DISCONNECT 0x93. Default 65535 (none announced).
   */
  serverReceiveMaximum?: number
  /** Ceiling on Session Expiry Interval, seconds; the expiry of v3 persistent sessions. */
  maxSessionExpiry: number
  /** Most messages a session queue holds (x-max-length; the oldest are dropped). */
  sessionQueueLimit: number
  /** Percent-escape '.', '*' and '%' in topics (see topic.ts). */
  topicDotEscaping: boolean
  /** A CONNECT without credentials logs in as `anonymousUser`. */
  allowAnonymous: boolean
  anonymousUser: { username: string; password: string }
  /** Longest keep alive granted, seconds; 0 = the client's choice. */
  maxKeepAlive: number
  /** Topic aliases a v5 client may use towards us; also our cap towards it. */
  topicAliasMaximum: number
  /** Milliseconds from accept to CONNECT (RabbitMQ's handshake timeout, 10 s). */
  connectTimeout?: number
}

/** What every connection of one adapter shares. */
export interface AdapterContext {
  readonly broker: Broker
  readonly opts: MqttOptions
  readonly topics: TopicMapper
  readonly registry: SessionRegistry
  readonly retained: RetainedStore
  readonly wills: WillScheduler
}
