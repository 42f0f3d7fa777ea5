/**
 * A session's unacknowledged deliveries: by id, in delivery order (Map order), with the
 * settle rules of rabbit_channel:collect_acks/5.
 *
 * @module
 */
import type { CoreDelivery } from './delivery.ts'
import { preconditionFailed } from './errors.ts'
import type { Queue } from './queue.ts'

export type SettleOp = 'ack' | 'requeue' | 'reject'

export class Unacked {
  readonly #byId = new Map<number, CoreDelivery>()
  /** How many went to consumers (the session-wide prefetch counts only those). */
  consumerCount = 0

  get size(): number {
    return this.#byId.size
  }

  add(d: CoreDelivery): void {
    this.#byId.set(d.id, d)
    if (d.consumer !== null) {
      d.consumer.unacked++
      this.consumerCount++
    }
  }

  /** Settles one delivery and returns its queue. Unknown id: "unknown delivery tag N". Hot path. */
  settleOne(id: number, op: SettleOp): Queue {
    const d = this.#byId.get(id)
    if (d === undefined) throw preconditionFailed(`unknown delivery tag ${id}`)
    this.#byId.delete(id)
    this.#settle(d, op)
    return d.source
  }

  /** Settles every delivery with id <= upTo (0: all); returns the queues concerned. */
  settleUpTo(upTo: number, op: SettleOp): Set<Queue> {
    // An unknown upTo fails like a single id, settling nothing.
    if (upTo !== 0 && !this.#byId.has(upTo)) throw preconditionFailed(`unknown delivery tag ${upTo}`)
    const queues = new Set<Queue>()
    for (const [id, d] of this.#byId) {
      if (upTo !== 0 && id > upTo) break
      this.#byId.delete(id)
      this.#settle(d, op)
      queues.add(d.source)
    }
    return queues
  }

  #settle(d: CoreDelivery, op: SettleOp): void {
    const consumer = d.consumer
    if (consumer !== null) {
      consumer.unacked--
      this.consumerCount--
    }
    if (op === 'ack') {
      d.source.ack(d.entry)
      d.source.stats.ack++
      d.source.host.stats.ack++
    } else if (op === 'requeue') d.source.requeue(d.entry)
    else d.source.reject(d.entry)
  }
}
