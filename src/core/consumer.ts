/**
 * Consumers and the per-queue consumer list: credit gates (prefetch, writability, flow),
 * x-priority groups with round-robin inside a group, and single-active-consumer.
 *
 * @module
 */
import type { StoredMessage } from '../store/store.ts'
import type { Queue } from './queue.ts'

/** What a consumer needs from the session it belongs to. */
export interface ConsumerSession {
  /** Open, writable and flow-active: deliveries may go out. */
  readonly deliverable: boolean
  /** setPrefetch(n, 'session'): one limit shared by the session's consumers; 0 = unlimited. */
  readonly globalPrefetch: number
  /** Unacked consumer deliveries of the session (get() ones do not count). */
  readonly consumerUnacked: number
  /** Hands `entry` (already shifted from the store) to the adapter. */
  deliverFromQueue(consumer: Consumer, queue: Queue, entry: StoredMessage): void
  /** The queue was deleted under the consumer: forget it and tell the adapter. */
  consumerCancelled(consumer: Consumer): void
}

export interface ConsumerOptions {
  tag: string
  noAck: boolean
  /** 0 = unlimited. */
  prefetch: number
  priority: number
  exclusive: boolean
}

export class Consumer {
  readonly tag: string
  readonly queue: Queue
  readonly session: ConsumerSession
  readonly noAck: boolean
  readonly prefetch: number
  readonly priority: number
  readonly exclusive: boolean
  /** Deliveries to this consumer not yet settled. */
  unacked = 0

  constructor(queue: Queue, session: ConsumerSession, opts: ConsumerOptions) {
    this.queue = queue
    this.session = session
    this.tag = opts.tag
    this.noAck = opts.noAck
    this.prefetch = opts.prefetch
    this.priority = opts.priority
    this.exclusive = opts.exclusive
  }

  /** The credit gate: may this consumer take one more message now? Hot path. */
  canDeliver(): boolean {
    const session = this.session
    if (!session.deliverable) return false
    // No-ack consumers are not limited by prefetch, as in RabbitMQ.
    if (this.noAck) return true
    if (this.prefetch !== 0 && this.unacked >= this.prefetch) return false
    return session.globalPrefetch === 0 || session.consumerUnacked < session.globalPrefetch
  }
}

interface PriorityGroup {
  readonly priority: number
  readonly members: Consumer[]
  cursor: number
}

/**
 * A queue's consumers. `next()` picks the consumer for the next message: the highest x-priority
 * group with credit, round-robin within it. With single-active-consumer only the earliest
 * registered consumer receives; the next one takes over when it goes.
 */
export class ConsumerList {
  #groups: PriorityGroup[] = []
  /** Registration order, for single-active-consumer and listing. */
  #all: Consumer[] = []
  #singleActive: boolean

  constructor(singleActive: boolean) {
    this.#singleActive = singleActive
  }

  get size(): number {
    return this.#all.length
  }

  /** Consumers in registration order. */
  get all(): readonly Consumer[] {
    return this.#all
  }

  /** The single active consumer, if this is a single-active-consumer queue with consumers. */
  get active(): Consumer | undefined {
    return this.#singleActive ? this.#all[0] : undefined
  }

  hasExclusive(): boolean {
    return this.#all.length === 1 && this.#all[0]!.exclusive
  }

  add(consumer: Consumer): void {
    this.#all.push(consumer)
    let i = 0
    while (i < this.#groups.length && this.#groups[i]!.priority > consumer.priority) i++
    const group = this.#groups[i]
    if (group !== undefined && group.priority === consumer.priority) group.members.push(consumer)
    else this.#groups.splice(i, 0, { priority: consumer.priority, members: [consumer], cursor: 0 })
  }

  remove(consumer: Consumer): boolean {
    const at = this.#all.indexOf(consumer)
    if (at < 0) return false
    this.#all.splice(at, 1)
    const g = this.#groups.findIndex((group) => group.priority === consumer.priority)
    const group = this.#groups[g]!
    const index = group.members.indexOf(consumer)
    group.members.splice(index, 1)
    if (group.members.length === 0) this.#groups.splice(g, 1)
    else if (group.cursor > index || group.cursor >= group.members.length) {
      group.cursor = group.cursor > index ? group.cursor - 1 : 0
    }
    return true
  }

  /** The consumer that gets the next message, or undefined when none has credit. Hot path. */
  next(): Consumer | undefined {
    if (this.#singleActive) {
      const active = this.#all[0]
      return active !== undefined && active.canDeliver() ? active : undefined
    }
    const groups = this.#groups
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g]!
      const members = group.members
      const n = members.length
      for (let i = 0; i < n; i++) {
        let index = group.cursor + i
        if (index >= n) index -= n
        const consumer = members[index]!
        if (consumer.canDeliver()) {
          group.cursor = index + 1 === n ? 0 : index + 1
          return consumer
        }
      }
    }
    return undefined
  }
}
