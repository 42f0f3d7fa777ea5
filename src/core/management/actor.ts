/**
 * api.ManagementActor: topology and message operations on behalf of a management user, through
 * the same checks as a session (topology.ts). Like RabbitMQ's management plugin, which runs them
 * as the user on a direct channel, the actor owns no exclusive queue.
 *
 * @module
 */
import type { Binding, DeclareOptions, FetchedMessage, ManagementActor, QueueInfo } from '../../api.ts'
import type { StoredMessage } from '../../store/store.ts'
import { Access, type PermissionChecker } from '../access.ts'
import type { DirectReply } from '../direct_reply.ts'
import type { Queue, QueueOwner } from '../queue.ts'
import * as topology from '../topology.ts'
import type { Actor } from '../topology.ts'
import type { Vhost } from '../vhost.ts'

export class CoreManagementActor implements ManagementActor, Actor {
  readonly vhostState: Vhost
  readonly access: Access
  readonly owner: QueueOwner = { exclusiveQueues: new Set<Queue>() }
  readonly directReply: DirectReply

  constructor(vhost: Vhost, user: string, permissions: PermissionChecker, directReply: DirectReply) {
    this.vhostState = vhost
    this.access = new Access(permissions, vhost.name, user)
    this.directReply = directReply
  }

  declareExchange(name: string, type: string, opts?: DeclareOptions & { internal?: boolean }): void {
    topology.declareExchange(this, name, type, opts)
  }

  deleteExchange(name: string, opts?: { ifUnused?: boolean }): void {
    topology.deleteExchange(this, name, opts)
  }

  declareQueue(name: string, opts?: DeclareOptions & { exclusive?: boolean }): QueueInfo {
    return topology.declareQueue(this, name, opts)
  }

  deleteQueue(name: string, opts?: { ifUnused?: boolean; ifEmpty?: boolean }): number {
    return topology.deleteQueue(this, name, opts)
  }

  purgeQueue(name: string): number {
    return topology.purgeQueue(this, name)
  }

  bind(binding: Binding): void {
    topology.bind(this, binding)
  }

  unbind(binding: Binding): void {
    topology.unbind(this, binding)
  }

  getMessages(queue: string, opts: { count: number; settle: 'ack' | 'requeue' | 'reject' }): FetchedMessage[] {
    this.access.check('read', 'queue', queue)
    const q = topology.findQueue(this, queue)
    const noAck = opts.settle === 'ack'
    const qstats = q.stats
    const vstats = this.vhostState.stats
    const taken: StoredMessage[] = []
    const out: FetchedMessage[] = []
    // Take them all before settling: a requeued message would otherwise come straight back.
    for (let i = 0; i < opts.count; i++) {
      const entry = q.take()
      if (entry === undefined) {
        qstats.getEmpty++
        vstats.getEmpty++
        break
      }
      taken.push(entry)
      if (noAck) {
        qstats.getNoAck++
        vstats.getNoAck++
      } else {
        qstats.get++
        vstats.get++
      }
      const redelivered = entry.deliveryCount > 0
      if (redelivered) {
        qstats.redeliver++
        vstats.redeliver++
      }
      out.push({ message: q.deliveredMessage(entry, true), redelivered, remaining: q.store.readyCount })
    }
    for (const entry of taken) {
      if (opts.settle === 'ack') q.ack(entry)
      else if (opts.settle === 'requeue') q.requeue(entry)
      else q.reject(entry)
    }
    if (opts.settle === 'requeue' && taken.length > 0) q.drain()
    return out
  }
}
