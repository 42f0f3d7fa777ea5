/**
 * api.Connection: one client connection in one vhost. Owns its sessions and its exclusive
 * queues; closing it closes the sessions (requeueing their unacked deliveries) and deletes the
 * exclusive queues.
 *
 * @module
 */
import type {
  AuthenticatedUser,
  BrokerError,
  Connection,
  ConnectInfo,
  KeyValueStore,
  Session,
  SessionEvents,
} from '../api.ts'
import { log } from '../log.ts'
import { Access, type PermissionChecker } from './access.ts'
import type { DirectReply } from './direct_reply.ts'
import type { Queue, QueueOwner } from './queue.ts'
import type { FlushScheduler } from './scheduler.ts'
import { CoreSession } from './session.ts'
import type { Actor } from './topology.ts'
import type { Vhost } from './vhost.ts'

/** What a connection needs from the broker. */
export interface ConnectionContext {
  readonly permissions: PermissionChecker
  readonly scheduler: FlushScheduler
  readonly directReply: DirectReply
  readonly maxMessageSize: number
  keyValue(namespace: string): KeyValueStore
  /** The connection closed; the broker forgets it. */
  closed(connection: CoreConnection): void
}

export class CoreConnection implements Connection, QueueOwner, Actor {
  readonly id: string
  readonly vhost: string
  readonly user: AuthenticatedUser
  readonly info: ConnectInfo
  readonly vhostState: Vhost
  readonly access: Access
  readonly exclusiveQueues = new Set<Queue>()
  readonly sessions = new Set<CoreSession>()
  readonly scheduler: FlushScheduler
  readonly directReply: DirectReply
  readonly maxMessageSize: number
  closed = false
  /** Epoch ms, for the management API. */
  readonly connectedAt = Date.now()
  #ctx: ConnectionContext
  #sessionNumbers = 0
  #forcedCloseListeners: ((error: BrokerError) => void)[] = []

  constructor(id: string, info: ConnectInfo, vhost: Vhost, ctx: ConnectionContext) {
    this.id = id
    this.info = info
    this.vhost = vhost.name
    this.user = info.user
    this.vhostState = vhost
    // RabbitMQ's {client_id} topic variable exists only for MQTT (rabbit_mqtt_processor).
    this.access = new Access(ctx.permissions, vhost.name, info.user.name, info.protocol === 'mqtt' ? info.clientName : undefined)
    this.scheduler = ctx.scheduler
    this.directReply = ctx.directReply
    this.maxMessageSize = ctx.maxMessageSize
    this.#ctx = ctx
  }

  /** Actor: the connection owns the exclusive queues it declares. */
  get owner(): QueueOwner {
    return this
  }

  openSession(events: SessionEvents): Session {
    if (this.closed) throw new TypeError(`Cannot open a session: connection ${this.id} is closed`)
    const session = new CoreSession(this, events)
    this.sessions.add(session)
    return session
  }

  /** 1, 2, … in opening order: how the management API numbers sessions (channels). */
  nextSessionNumber(): number {
    return ++this.#sessionNumbers
  }

  keyValue(namespace: string): KeyValueStore {
    return this.#ctx.keyValue(namespace)
  }

  close(_reason?: string): void {
    if (this.closed) return
    this.closed = true
    for (const session of [...this.sessions]) session.close()
    for (const q of [...this.exclusiveQueues]) this.vhostState.removeQueue(q)
    this.exclusiveQueues.clear()
    this.#ctx.closed(this)
  }

  onForcedClose(listener: (error: BrokerError) => void): void {
    this.#forcedCloseListeners.push(listener)
  }

  /** The broker ends this connection (shutdown): tell the adapter, then close. */
  forceClose(error: BrokerError): void {
    if (this.closed) return
    for (const listener of this.#forcedCloseListeners) {
      try {
        listener(error)
      } catch (failure) {
        // The adapter's close path failing must not keep the broker from closing the rest.
        log.error('Forced close listener failed', { connection: this.id, error: String(failure) })
      }
    }
    this.close('forced')
  }
}
