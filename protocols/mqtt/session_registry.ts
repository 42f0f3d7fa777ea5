/**
 * The adapter's sessions: which connection holds each client id now (a second CONNECT with the
 * same id takes the session over [MQTT-3.1.4-3]), the persisted state of sessions that outlive
 * their connection (subscriptions and expiry, in the core's key-value namespace 'mqtt-sessions';
 * their messages wait in durable core queues), the inbound QoS 2 exchanges a persistent session
 * carries across reconnects, server-assigned client ids, and who belongs to each shared
 * subscription group.
 *
 * A shared group's queue ("mqtt-shared-<group>/<filter>") lives as long as a member's session
 * does: its members are the persistent sessions whose record lists the "$share/…" filter
 * (connected or not; rebuilt from the records when the registry attaches) and the connected clean
 * sessions subscribed to it. The caller deletes the queue when `leave` or `delete` says its
 * last member left.
 *
 * Client ids are per vhost, as in RabbitMQ.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { KeyValueStore } from '../../src/api.ts'
import { sharedQueueName } from './subscriptions.ts'
import { parseSharedFilter } from './topic.ts'

export const SESSIONS_NAMESPACE = 'mqtt-sessions'

/** How often stale session records are swept. */
const SWEEP_MS = 60_000

/** A subscription as a persistent session remembers it. */
export interface SubscriptionRecord {
  filter: string
  qos: 0 | 1 | 2
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: number
  /** v5 Subscription Identifier. */
  id?: number
}

export interface SessionRecord {
  /** Session Expiry Interval, seconds (> 0: the session outlives its connection). */
  expiry: number
  /** Epoch ms when its last connection ended; null while connected. */
  disconnectedAt: number | null
  subscriptions: SubscriptionRecord[]
}

/**
 * What a persistent session's outbound side hands to its next connection, so unacknowledged
 * PUBLISH and PUBREL packets are resent with their original packet ids [MQTT-4.4.0-1].
 */
export interface OutboundCarry {
  /** Unacknowledged PUBLISHes by "<queue>\0<durable key>" of their message: packet id and QoS. */
  byKey: Map<string, { packetId: number; qos: 1 | 2 }>
  /** QoS 2 packet ids whose PUBREL went out and whose PUBCOMP did not come. */
  released: number[]
  /** Where packet id allocation continues. */
  next: number
}

/** The registry's view of a connected session. */
export interface LiveSession {
  /**
   * Another connection claimed this client id: disconnect (v5 reason 0x8E). `cleanStart` tells
   * whether the new connection ends the session (its delayed will is then published at once).
   */
  takeOver(cleanStart: boolean): void
}

/** The key of a session: vhost and client id. */
export function sessionKey(vhost: string, clientId: string): string {
  return `${vhost}\u0000${clientId}`
}

/** A fresh client id for a client that sent an empty one [MQTT-3.1.3-6]. */
export function assignClientId(): string {
  return `warren-${randomBytes(12).toString('base64url')}`
}

export function isExpired(record: SessionRecord, now: number): boolean {
  return record.disconnectedAt !== null && now - record.disconnectedAt >= record.expiry * 1000
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class SessionRegistry {
  #live = new Map<string, LiveSession>()
  #kv: KeyValueStore | undefined
  /** Inbound QoS 2 packet ids awaiting PUBREL (true once PUBREC went out), per persistent session. */
  #inbound = new Map<string, Map<number, boolean>>()
  /** Outbound packet ids a persistent session's next connection resends (in memory, like #inbound). */
  #outbound = new Map<string, OutboundCarry>()
  #sweeper: ReturnType<typeof setInterval> | undefined
  /** Shared subscription groups: "<vhost>\0<queue>" -> keys of the member sessions. */
  #groups = new Map<string, Set<string>>()

  /** Hands the registry its key-value namespace (from the first core connection). */
  attach(kv: KeyValueStore): void {
    if (this.#kv !== undefined) return
    this.#kv = kv
    // Persistent members of shared groups, for sessions that have not come back since a restart
    // (expired ones too: whoever deletes their record learns which queues they leave empty).
    for (const [key, bytes] of kv.entries()) {
      const record = parseRecord(bytes)
      if (record !== undefined) for (const queue of sharedQueues(record)) this.join(key, queue)
    }
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), SWEEP_MS)
    ;(this.#sweeper as { unref?: () => void }).unref?.()
  }

  /** Registers `session` under `key`; returns the session it displaces, if any. */
  claim(key: string, session: LiveSession): LiveSession | undefined {
    const previous = this.#live.get(key)
    this.#live.set(key, session)
    return previous === session ? undefined : previous
  }

  /** Forgets `session` if it still holds `key` (a taken-over session must not evict its successor). */
  release(key: string, session: LiveSession): void {
    if (this.#live.get(key) === session) this.#live.delete(key)
  }

  /** Whether `session` still holds `key`. */
  holds(key: string, session: LiveSession): boolean {
    return this.#live.get(key) === session
  }

  get liveCount(): number {
    return this.#live.size
  }

  /**
   * The persisted session under `key`; undefined when there is none or it expired. `existed`:
   * a record was there (expired or unreadable ones too): the caller ends it with `delete`.
   */
  load(key: string, now: number): { record: SessionRecord | undefined; existed: boolean } {
    const bytes = this.#kv?.get(key)
    if (bytes === undefined) return { record: undefined, existed: false }
    const record = parseRecord(bytes)
    if (record === undefined || isExpired(record, now)) return { record: undefined, existed: true }
    return { record, existed: true }
  }

  save(key: string, record: SessionRecord): void {
    void this.#kv?.set(key, encoder.encode(JSON.stringify(record)))
  }

  /**
   * Ends a persisted session: its record, its QoS 2 state and its shared group memberships.
   * Returns the shared queues (in the session's vhost) whose last member it was.
   */
  delete(key: string): string[] {
    this.#inbound.delete(key)
    this.#outbound.delete(key)
    const bytes = this.#kv?.get(key)
    if (bytes === undefined) return []
    void this.#kv!.set(key, null)
    const record = parseRecord(bytes)
    const emptied: string[] = []
    if (record !== undefined) for (const queue of sharedQueues(record)) if (this.leave(key, queue)) emptied.push(queue)
    return emptied
  }

  /** The session under `key` is a member of the shared group whose queue is `queue`. Idempotent. */
  join(key: string, queue: string): void {
    const group = groupKey(key, queue)
    let members = this.#groups.get(group)
    if (members === undefined) {
      members = new Set()
      this.#groups.set(group, members)
    }
    members.add(key)
  }

  /** The session under `key` leaves the group of `queue`; true when it was the last member. */
  leave(key: string, queue: string): boolean {
    const group = groupKey(key, queue)
    const members = this.#groups.get(group)
    if (members === undefined || !members.delete(key)) return false
    if (members.size > 0) return false
    this.#groups.delete(group)
    return true
  }

  /** A persistent session's connection ended: keep its outbound packet ids for the next one. */
  keepOutbound(key: string, carry: OutboundCarry): void {
    this.#outbound.set(key, carry)
  }

  /** The outbound packet ids the session's previous connection left, once. */
  takeOutbound(key: string): OutboundCarry | undefined {
    const carry = this.#outbound.get(key)
    this.#outbound.delete(key)
    return carry
  }

  /** The inbound QoS 2 state of a persistent session (created on first use). */
  inbound(key: string): Map<number, boolean> {
    let map = this.#inbound.get(key)
    if (map === undefined) {
      map = new Map()
      this.#inbound.set(key, map)
    }
    return map
  }

  /** Broker shutdown. */
  stop(): void {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  /** Drops expired records so abandoned sessions do not pile up (their queues go by x-expires). */
  #sweep(now: number): void {
    const kv = this.#kv
    if (kv === undefined) return
    const stale: string[] = []
    for (const [key, bytes] of kv.entries()) {
      const record = parseRecord(bytes)
      if (record === undefined || (isExpired(record, now) && !this.#live.has(key))) stale.push(key)
    }
    // A shared queue whose last member expired here goes by its x-expires (no core session to
    // delete it with).
    for (const key of stale) this.delete(key)
  }
}

function parseRecord(bytes: Uint8Array): SessionRecord | undefined {
  try {
    return JSON.parse(decoder.decode(bytes)) as SessionRecord
  } catch {
    return undefined
  }
}

/** The queues of a record's shared subscriptions. */
function sharedQueues(record: SessionRecord): string[] {
  const out: string[] = []
  for (const sub of record.subscriptions ?? []) {
    const shared = parseSharedFilter(sub.filter)
    if (typeof shared === 'object') out.push(sharedQueueName(shared.group, shared.filter))
  }
  return out
}

/** A group is one queue in one vhost: the session key's vhost part and the queue name. */
function groupKey(sessionKey: string, queue: string): string {
  return `${sessionKey.slice(0, sessionKey.indexOf('\u0000'))}\u0000${queue}`
}
