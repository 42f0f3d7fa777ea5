/**
 * Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a no-ack pseudo-consumer per session; a
 * publish whose reply-to is the pseudo-queue gets "amq.rabbitmq.reply-to.<token>", and a publish
 * to the default exchange with that routing key goes straight to the consumer, no queue between.
 *
 * @module
 */
import type { Message } from '../api.ts'
import { preconditionFailed } from './errors.ts'
import { randomToken } from './names.ts'

export const REPLY_QUEUE = 'amq.rabbitmq.reply-to'
const REPLY_PREFIX = `${REPLY_QUEUE}.`

/** A session with a reply consumer. */
export interface ReplyTarget {
  deliverReply(message: Message): void
}

/** A session's reply consumer. */
export interface ReplyConsumer {
  readonly tag: string
  readonly token: string
}

/** Rewrites reply-to "amq.rabbitmq.reply-to" to the publishing session's reply address. */
export function withReplyAddress(message: Message, consumer: ReplyConsumer | undefined): Message {
  if (consumer === undefined) throw preconditionFailed('fast reply consumer does not exist')
  const properties = { ...message.properties, replyTo: `${REPLY_PREFIX}${consumer.token}` }
  return { exchange: message.exchange, routingKey: message.routingKey, properties, body: message.body }
}

export class DirectReply {
  #byToken = new Map<string, ReplyTarget>()

  /** Starts a session's reply consumer (must be no-ack, one per session). */
  open(target: ReplyTarget, tag: string, noAck: boolean, current: ReplyConsumer | undefined): ReplyConsumer {
    if (!noAck) throw preconditionFailed('reply consumer cannot acknowledge')
    if (current !== undefined) throw preconditionFailed('reply consumer already set')
    const token = randomToken()
    this.#byToken.set(token, target)
    return { tag, token }
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
