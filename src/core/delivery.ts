/**
 * The Delivery handed to adapters, carrying what settling it needs (queue, store entry,
 * consumer) so a delivery costs one object.
 *
 * @module
 */
import type { Delivery, Message } from '../api.ts'
import type { StoredMessage } from '../store/store.ts'
import type { Consumer } from './consumer.ts'
import type { Queue } from './queue.ts'

export class CoreDelivery implements Delivery {
  readonly id: number
  readonly consumerTag: string
  readonly queue: string
  readonly message: Message
  readonly redelivered: boolean
  readonly deliveryCount: number
  /** Internal: the queue the message came from. */
  readonly source: Queue
  /** Internal: the queue's store entry. */
  readonly entry: StoredMessage
  /** Internal: the consumer it went to (null for get()). */
  readonly consumer: Consumer | null

  constructor(id: number, consumerTag: string, source: Queue, entry: StoredMessage, consumer: Consumer | null) {
    this.id = id
    this.consumerTag = consumerTag
    this.queue = source.name
    // consumer null: a get, where a quorum queue always reports x-delivery-count.
    this.message = source.deliveredMessage(entry, consumer === null)
    this.redelivered = entry.deliveryCount > 0
    this.deliveryCount = entry.deliveryCount
    this.source = source
    this.entry = entry
    this.consumer = consumer
  }

  /** Computed on demand: only the SSE queue stream asks, the delivery path never does. */
  get durableKey(): number | undefined {
    return this.source.store.survivesRestart?.(this.entry) === true ? this.entry.seq : undefined
  }
}
