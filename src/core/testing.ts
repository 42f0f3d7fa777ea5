/**
 * Helpers for the core's unit tests: a broker with a guest user, sessions whose events are
 * recorded, message builders. Pure core, no sockets.
 *
 * @module
 */
import type { BrokerError, Connection, Delivery, Message, MessageProperties, Session, SessionEvents } from '../api.ts'
import { type BrokerOptions, createBroker, type WarrenBroker } from '../broker.ts'

export function testBroker(overrides: Partial<BrokerOptions> = {}): WarrenBroker {
  return createBroker({
    dataDir: '/nonexistent',
    maxMessageSize: 1024 * 1024,
    memoryHighWatermark: 0,
    maxConnections: 0,
    defaultUser: { username: 'guest', password: 'guest' },
    loopbackUsers: ['guest'],
    ...overrides,
  })
}

/** Records every event a session gets. */
export class Recorder implements SessionEvents {
  readonly deliveries: Delivery[] = []
  readonly settledBatches: number[][] = []
  readonly rejectedBatches: number[][] = []
  readonly cancelled: string[] = []
  readonly closedWith: BrokerError[] = []
  flushes = 0
  /** Called from inside deliver, to test re-entrancy. */
  onDeliver: ((d: Delivery) => void) | undefined

  deliver(delivery: Delivery): void {
    this.deliveries.push(delivery)
    this.onDeliver?.(delivery)
  }
  flush(): void {
    this.flushes++
  }
  settled(ids: readonly number[]): void {
    this.settledBatches.push([...ids])
  }
  rejected(ids: readonly number[]): void {
    this.rejectedBatches.push([...ids])
  }
  consumerCancelled(tag: string): void {
    this.cancelled.push(tag)
  }
  closed(error: BrokerError): void {
    this.closedWith.push(error)
  }

  get allSettled(): number[] {
    return this.settledBatches.flat()
  }
  get allRejected(): number[] {
    return this.rejectedBatches.flat()
  }
  /** Bodies of the deliveries so far, as text. */
  bodies(): string[] {
    return this.deliveries.map((d) => text(d.message))
  }
  /** Takes the deliveries recorded so far. */
  take(): Delivery[] {
    return this.deliveries.splice(0)
  }
}

export interface Client {
  connection: Connection
  session: Session
  events: Recorder
}

/** Connects as guest to `vhost` and opens one session. */
export function client(broker: WarrenBroker, opts: { user?: string; vhost?: string } = {}): Client {
  const user = opts.user ?? 'guest'
  const record = broker.users.get(user)
  const connection = broker.connect({
    protocol: 'amqp',
    vhost: opts.vhost ?? '/',
    user: { name: user, tags: record?.tags ?? [] },
    remoteAddress: '127.0.0.1',
  })
  const events = new Recorder()
  return { connection, session: connection.openSession(events), events }
}

/** Another session on the same connection. */
export function session(c: Client): { session: Session; events: Recorder } {
  const events = new Recorder()
  return { session: c.connection.openSession(events), events }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function msg(body: string, opts: { exchange?: string; routingKey?: string; properties?: MessageProperties } = {}): Message {
  return {
    exchange: opts.exchange ?? '',
    routingKey: opts.routingKey ?? 'q',
    properties: opts.properties ?? {},
    body: encoder.encode(body),
  }
}

export function text(m: Message): string {
  return decoder.decode(m.body)
}

/** One event-loop turn: queued microtasks (deferred drains, burst flushes) and yields run. */
export function tick(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}

/** The BrokerError `fn` throws (fails the test when it does not throw one). */
export function caught(fn: () => unknown): BrokerError {
  try {
    fn()
  } catch (error) {
    if ((error as Error).name === 'BrokerError') return error as BrokerError
    throw error
  }
  throw new Error('expected a BrokerError, nothing was thrown')
}
