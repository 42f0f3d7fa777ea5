/**
 * Client-side helpers for the black-box MQTT tests: mqtt.js clients that record everything the
 * server sends (messages, server DISCONNECTs, errors, the close), unique names, bounded waits.
 * Nothing here imports the broker: the tests talk to it only over TCP.
 */
import { expect } from 'bun:test'
import mqtt from 'mqtt'
import type { IClientOptions, IClientPublishOptions, IClientSubscribeOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, ISubscriptionGrant, MqttClient } from 'mqtt'
import { waitFor } from './wait.ts'

/** The protocol levels every shared case runs with: 3.1.1 and 5.0. */
export const VERSIONS = [4, 5] as const

/** MQTT protocol level: 3 (3.1, "MQIsdp"), 4 (3.1.1) or 5. */
export type MqttVersion = 3 | 4 | 5

let counter = 0

/** A client id or topic segment no other test in this run uses (no '/', '+', '#', '.'). */
export function uniqueId(prefix: string): string {
  counter += 1
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

/** One PUBLISH the client received. */
export interface Received {
  topic: string
  payload: Buffer
  /** The payload as UTF-8. */
  text: string
  packet: IPublishPacket
  /** Date.now() on arrival. */
  at: number
}

/** The subscription identifiers a v5 PUBLISH carries (mqtt.js gives one number or a list). */
export function subscriptionIds(m: Received): number[] {
  const ids = m.packet.properties?.subscriptionIdentifier as number | number[] | undefined
  if (ids === undefined) return []
  return Array.isArray(ids) ? [...ids].sort((a, b) => a - b) : [ids]
}

export type ConnectOptions = IClientOptions & { version?: MqttVersion }

/**
 * An mqtt.js client with everything it saw recorded. Listeners are attached before the CONNECT is
 * sent, so messages a persistent session delivers right after CONNACK are not missed.
 */
export class TestClient {
  readonly client: MqttClient
  readonly version: MqttVersion
  readonly clientId: string
  readonly messages: Received[] = []
  /** Server DISCONNECT packets (v5). */
  readonly disconnects: IDisconnectPacket[] = []
  readonly errors: Error[] = []
  #connack: IConnackPacket | undefined
  #closed = false
  #closedAt = 0
  #ready: Promise<IConnackPacket>

  constructor(url: string, opts: ConnectOptions = {}) {
    const { version = 4, ...rest } = opts
    this.version = version
    this.clientId = rest.clientId ?? uniqueId(`v${version}`)
    this.client = mqtt.connect(url, {
      protocolVersion: version,
      ...(version === 3 ? { protocolId: 'MQIsdp' as const } : {}),
      reconnectPeriod: 0,
      connectTimeout: 4000,
      // Warren authenticates every connection; guest/guest is the loopback default.
      username: 'guest',
      password: 'guest',
      ...rest,
      clientId: this.clientId,
    })
    this.client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, text: payload.toString(), packet, at: Date.now() })
    })
    this.client.on('disconnect', (packet) => this.disconnects.push(packet))
    this.client.on('close', () => {
      if (!this.#closed) this.#closedAt = Date.now()
      this.#closed = true
    })
    this.#ready = new Promise((resolve, reject) => {
      this.client.once('connect', (connack) => {
        this.#connack = connack
        resolve(connack)
      })
      this.client.on('error', (error) => {
        this.errors.push(error)
        if (this.#connack === undefined) reject(error)
      })
      this.client.once('close', () => {
        if (this.#connack === undefined) reject(new Error('connection closed before CONNACK'))
      })
    })
    // The rejection is observed through ready(); never let it count as unhandled.
    this.#ready.catch(() => {})
  }

  /** Resolves with the CONNACK; rejects with mqtt.js's error for a refusal. */
  ready(): Promise<IConnackPacket> {
    return this.#ready
  }

  get connack(): IConnackPacket {
    if (this.#connack === undefined) throw new Error('not connected yet')
    return this.#connack
  }

  get closed(): boolean {
    return this.#closed
  }

  get closedAt(): number {
    return this.#closedAt
  }

  /** Messages received on exactly `topic`, or all of them. */
  on(topic?: string): Received[] {
    return topic === undefined ? [...this.messages] : this.messages.filter((m) => m.topic === topic)
  }

  /** Waits until at least `count` messages on `topic` (or at all) arrived; returns them. */
  async waitMessages(count: number, topic?: string, timeout = 5000): Promise<Received[]> {
    await waitFor(() => this.on(topic).length >= count, {
      timeout,
      message: `${count} message(s)${topic ? ` on ${topic}` : ''} at ${this.clientId} (got ${this.on(topic).length})`,
    })
    return this.on(topic)
  }

  /** Waits for one message whose payload is `text`. */
  async waitText(text: string, timeout = 5000): Promise<Received> {
    return await waitFor(() => this.messages.find((m) => m.text === text), { timeout, message: `message '${text}' at ${this.clientId}` })
  }

  async waitClosed(timeout = 5000): Promise<void> {
    await waitFor(() => this.#closed, { timeout, message: `close of ${this.clientId}` })
  }

  async waitDisconnect(timeout = 5000): Promise<IDisconnectPacket> {
    return await waitFor(() => this.disconnects[0], { timeout, message: `server DISCONNECT at ${this.clientId}` })
  }

  async subscribe(filter: string | string[], opts: IClientSubscribeOptions = { qos: 0 }): Promise<ISubscriptionGrant[]> {
    return await this.client.subscribeAsync(filter, opts)
  }

  /** Publishes; for QoS 1/2 resolves once PUBACK/PUBCOMP arrived. */
  async publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, opts)
  }

  /** Clean DISCONNECT (no will), then the close. Safe on an already closed client. */
  async end(): Promise<void> {
    if (this.#closed) {
      // Already gone (server close, kill): only make sure mqtt.js does not try to reconnect.
      this.client.end(true)
      return
    }
    try {
      await this.client.endAsync()
    } catch {
      // closed by the server already
    }
  }

  /** Drops the TCP connection without DISCONNECT: an abnormal close for the server. */
  async kill(): Promise<void> {
    this.client.stream.destroy()
    await this.waitClosed()
    // Stop mqtt.js from treating it as a reconnectable loss.
    this.client.end(true)
  }
}

/** Connects an mqtt.js client (v3.1.1 unless `version` says otherwise) and awaits CONNACK. */
export async function connectMqtt(url: string, opts: ConnectOptions = {}): Promise<TestClient> {
  const c = new TestClient(url, opts)
  try {
    await c.ready()
  } catch (error) {
    c.client.end(true)
    throw error
  }
  return c
}

/**
 * Connects expecting a refusal; returns the CONNACK return code (v3/v4) or reason code (v5) and
 * checks the server closed the connection afterwards [MQTT-3.2.2-5].
 */
export async function connectRefused(url: string, opts: ConnectOptions = {}): Promise<number> {
  const c = new TestClient(url, opts)
  const error = await c.ready().then(
    () => {
      throw new Error('expected the CONNECT to be refused, but it was accepted')
    },
    (e: Error & { code?: number }) => e,
  )
  expect(typeof error.code).toBe('number')
  await c.waitClosed()
  c.client.end(true)
  return error.code as number
}

/** Ends every client given, ignoring failures. */
export async function endAll(...clients: (TestClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => c?.end()))
}

/**
 * Proves the broker still serves a well-behaved MQTT client: a fresh v5 client subscribes,
 * publishes at QoS 1 and gets its message back.
 */
export async function assertMqttServes(url: string): Promise<void> {
  const c = await connectMqtt(url, { version: 5 })
  try {
    const topic = `alive/${uniqueId('t')}`
    await c.subscribe(topic, { qos: 1 })
    await c.publish(topic, 'still alive', { qos: 1 })
    const [m] = await c.waitMessages(1, topic)
    expect(m?.text).toBe('still alive')
  } finally {
    await c.end()
  }
}

/**
 * Publishes a fence message to every subscriber and waits until each has it. Messages published
 * earlier by `publisher` at the same QoS reached each subscriber's queue before the fence, so once
 * the fence arrived anything still missing is proven absent (no timeout needed).
 */
export async function fence(publisher: TestClient, subscribers: TestClient[], qos: 0 | 1 | 2 = 0): Promise<void> {
  const topic = `fence/${uniqueId('f')}`
  for (const s of subscribers) await s.subscribe(topic, { qos })
  await publisher.publish(topic, 'fence', { qos })
  for (const s of subscribers) await s.waitMessages(1, topic)
}

/**
 * Lets wall-clock time pass. Only for behaviour that IS a duration (an expiry, a delay interval,
 * a keepalive) where no event exists to await; everything else awaits events.
 */
export function passTime(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
