/**
 * Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a no-ack pseudo-consumer per session; a
 * publish whose reply-to is the pseudo-queue gets "amq.rabbitmq.reply-to.<token>", and a publish
 * to the default exchange with that routing key goes straight to the consumer, no queue between.
 *
 * @module
 */
import type { Message } from '../api.ts'
import { randomToken } from './names.ts'

export const REPLY_QUEUE = 'amq.rabbitmq.reply-to'
const REPLY_PREFIX = `${REPLY_QUEUE}.`

/** A session with a reply consumer. */
export interface ReplyTarget {
  deliverReply(message: Message): void
}

export class DirectReply {
  #byToken = new Map<string, ReplyTarget>()

  /** Registers a reply consumer; returns its token. */
  register(target: ReplyTarget): string {
    const token = randomToken()
    this.#byToken.set(token, target)
    return token
  }

  unregister(token: string): void {
    this.#byToken.delete(token)
  }

  /** Whether `routingKey` names a reply pseudo-queue ("amq.rabbitmq.reply-to.<token>"). */
  isReplyKey(routingKey: string): boolean {
    return routingKey.startsWith(REPLY_PREFIX)
  }

  /** Delivers to the reply consumer named by `routingKey`; false when it is gone. */
  deliver(routingKey: string, message: Message): boolean {
    const target = this.#byToken.get(routingKey.slice(REPLY_PREFIX.length))
    if (target === undefined) return false
    target.deliverReply(message)
    return true
  }

  /** queue.declare of the pseudo-queue (or one reply address) finds it when it exists. */
  exists(name: string): boolean {
    return name === REPLY_QUEUE || (name.startsWith(REPLY_PREFIX) && this.#byToken.has(name.slice(REPLY_PREFIX.length)))
  }
}
