/**
 * Publishing: checks in rabbit_channel.erl's order (size, write permission, exchange,
 * internal, direct reply-to, expiration, user-id), synchronous routing, then the enqueue into
 * every queue reached, sharing one Message object and body.
 *
 * @module
 */
import type { Message, PublishOptions, PublishResult } from '../api.ts'
import { preconditionFailed, accessRefused, notFound, rs } from './errors.ts'
import { REPLY_QUEUE, withReplyAddress } from './direct_reply.ts'
import { parseExpiration } from './expiry.ts'
import type { Queue } from './queue.ts'
import type { CoreSession } from './session.ts'

/** RabbitMQ's own ceiling (?MAX_MSG_SIZE): its error text drops the word "configured" there. */
const MAX_MSG_SIZE = 536870912

export function publish(session: CoreSession, message: Message, opts: PublishOptions | undefined): PublishResult {
  const conn = session.connection
  const vhost = conn.vhostState
  const size = message.body.byteLength
  const max = conn.maxMessageSize
  if (size > max) {
    const which = max === MAX_MSG_SIZE ? 'max size' : 'configured max size'
    throw preconditionFailed(`message size ${size} is larger than ${which} ${max}`)
  }
  conn.access.checkPublish(message.exchange)
  const x = vhost.exchanges.get(message.exchange)
  if (x === undefined) throw notFound('exchange', message.exchange, vhost.name)
  if (x.internal) throw accessRefused(`cannot publish to internal ${rs('exchange', x.name, vhost.name)}`)
  const props = message.properties
  if (props.replyTo === REPLY_QUEUE) message = withReplyAddress(message, session.replyConsumer)
  const ttl = props.expiration === undefined ? -1 : parseExpiration(props.expiration)
  const userId = props.userId
  if (userId !== undefined && userId !== conn.user.name && !conn.user.tags.includes('impersonator')) {
    throw preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${conn.user.name}'`)
  }
  const confirmId = opts?.confirmId
  const stats = vhost.stats
  stats.publish++
  if (confirmId !== undefined) stats.confirm++

  if (x === vhost.defaultExchange && conn.directReply.isReplyKey(message.routingKey)) {
    const delivered = conn.directReply.deliver(message.routingKey, message)
    if (confirmId !== undefined) session.confirm(confirmId, false, 0)
    return delivered ? 'routed' : 'unroutable'
  }

  const targets = session.borrowRouteBuffer()
  try {
    vhost.routeTo(x, message.routingKey, props.headers, targets)
    if (targets.length === 0) {
      stats.unroutable++
      if (confirmId !== undefined) session.confirm(confirmId, false, 0)
      return 'unroutable'
    }
    let rejected = false
    let pending = 0
    for (let i = 0; i < targets.length; i++) {
      const q: Queue = targets[i]!
      // A queue deleted by an earlier enqueue's side effects (an adapter reacting to a delivery).
      if (q.deleted) continue
      const entry = q.enqueue(message, ttl)
      if (entry === null) rejected = true
      else if (confirmId !== undefined && !q.store.isPersisted(entry)) {
        q.awaitPersisted(entry, session, confirmId)
        pending++
      }
    }
    if (confirmId !== undefined) session.confirm(confirmId, rejected, pending)
    return 'routed'
  } finally {
    session.returnRouteBuffer(targets)
  }
}
