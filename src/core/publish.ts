/**
 * Publishing: checks in rabbit_channel.erl's order (size, write permission, exchange,
 * internal, direct reply-to, expiration, user-id), CC/BCC routing keys (sender_selected.ts),
 * synchronous routing, then the enqueue into every queue reached, sharing one Message object and
 * body.
 *
 * @module
 */
import type { Message, PublishOptions, PublishResult } from '../api.ts'
import { preconditionFailed, accessRefused, notFound, rs } from './errors.ts'
import { REPLY_QUEUE, withReplyAddress } from './direct_reply.ts'
import type { Exchange } from './exchange.ts'
import { parseExpiration } from './expiry.ts'
import type { Queue } from './queue.ts'
import { hasBcc, headerRoutes, routeKeys, withoutBcc } from './sender_selected.ts'
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
  conn.access.checkTopic('write', x, message.routingKey)
  const props = message.properties
  if (props.replyTo === REPLY_QUEUE) message = withReplyAddress(message, session.replyConsumer)
  const ttl = props.expiration === undefined ? -1 : parseExpiration(props.expiration)
  const userId = props.userId
  if (userId !== undefined && userId !== conn.user.name && !conn.user.tags.includes('impersonator')) {
    throw preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${conn.user.name}'`)
  }
  // CC/BCC (rabbit_basic:message/3): only a message with headers pays for the lookup. Other
  // protocols' headers are free-form strings, so only AMQP gets RabbitMQ's error for a non-array.
  const headers = props.headers
  const ccKeys = headers === undefined ? undefined : headerRoutes(headers, conn.info.protocol === 'amqp')
  // RabbitMQ 4 checks every routing key of the message, CC ones included.
  if (ccKeys !== undefined) for (const key of ccKeys) conn.access.checkTopic('write', x, key)
  const confirmId = opts?.confirmId
  const stats = vhost.stats
  stats.publish++
  if (confirmId !== undefined) stats.confirm++
  if (ccKeys !== undefined) {
    if (hasBcc(headers!)) message = withoutBcc(message)
    if (ccKeys.length > 0) return publishToKeys(session, x, message, ccKeys, ttl, confirmId)
  }

  if (x === vhost.defaultExchange && conn.directReply.isReplyKey(message.routingKey)) {
    const delivered = conn.directReply.deliver(message.routingKey, message)
    if (confirmId !== undefined) session.confirm(confirmId, false, 0)
    return delivered ? 'routed' : 'unroutable'
  }

  const targets = session.borrowRouteBuffer()
  try {
    vhost.routeTo(x, message.routingKey, message.properties.headers, targets)
    return enqueueAll(session, message, targets, ttl, confirmId)
  } finally {
    session.returnRouteBuffer(targets)
  }
}

/**
 * A publish with CC/BCC routing keys: the routing key and each extra key on the same exchange,
 * every queue reached once; on the default exchange, direct reply-to keys among them go to their
 * reply consumers, as rabbit_exchange:route/2 does.
 */
function publishToKeys(
  session: CoreSession,
  x: Exchange,
  message: Message,
  extra: readonly string[],
  ttl: number,
  confirmId: number | undefined,
): PublishResult {
  const conn = session.connection
  const vhost = conn.vhostState
  const keys = [message.routingKey, ...extra]
  let replied = false
  if (x === vhost.defaultExchange) {
    const seen = new Set<string>()
    for (const key of keys) {
      if (!conn.directReply.isReplyKey(key) || seen.has(key)) continue
      seen.add(key)
      if (conn.directReply.deliver(key, message)) replied = true
    }
  }
  const targets = session.borrowRouteBuffer()
  try {
    routeKeys(vhost, x, keys, message.properties.headers, targets)
    if (replied && targets.length === 0) {
      if (confirmId !== undefined) session.confirm(confirmId, false, 0)
      return 'routed'
    }
    return enqueueAll(session, message, targets, ttl, confirmId)
  } finally {
    session.returnRouteBuffer(targets)
  }
}

/** Enqueues into every routed queue and answers the confirm; no targets is unroutable. */
function enqueueAll(session: CoreSession, message: Message, targets: readonly Queue[], ttl: number, confirmId: number | undefined): PublishResult {
  if (targets.length === 0) {
    session.connection.vhostState.stats.unroutable++
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
}
