/**
 * basic.qos / consume / cancel / publish / get / recover(-async). basic.publish only arms the
 * channel's content assembler; `publishContent` runs once the body is complete.
 *
 * @module
 */
import type { Message, MessageProperties, PublishOptions } from '../../../src/api.ts'
import { AmqpError } from '../codec/errors.ts'
import type { MethodArgs } from '../codec/methods.ts'
import { ReplyCode } from '../spec/generated.ts'
import type { AmqpChannel } from '../channel.ts'
import { expandQueueName } from './queue.ts'

export function basicQos(ch: AmqpChannel, args: MethodArgs['basic.qos']): void {
  if (args.prefetchSize !== 0) {
    throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, `prefetch_size!=0 (${args.prefetchSize})`)
  }
  ch.session.setPrefetch(args.prefetchCount, args.global ? 'session' : 'consumer')
  ch.send('basic.qos-ok', {})
}

export function basicConsume(ch: AmqpChannel, args: MethodArgs['basic.consume']): void {
  const queue = expandQueueName(ch, args.queue)
  // The core may deliver from inside consume(); clients need consume-ok first.
  ch.holdDeliveries()
  try {
    const consumerTag = ch.session.consume(queue, {
      tag: args.consumerTag,
      noAck: args.noAck,
      exclusive: args.exclusive,
      args: args.arguments,
    })
    if (!args.nowait) ch.send('basic.consume-ok', { consumerTag })
  } finally {
    ch.releaseDeliveries()
  }
}

export function basicCancel(ch: AmqpChannel, args: MethodArgs['basic.cancel']): void {
  // An unknown tag is not an error: the spec asks servers to ignore it.
  ch.session.cancel(args.consumerTag)
  if (!args.nowait) ch.send('basic.cancel-ok', { consumerTag: args.consumerTag })
}

/** Arms the content assembler; immediate=true is refused as RabbitMQ does (540, connection). */
export function basicPublish(ch: AmqpChannel, args: MethodArgs['basic.publish']): void {
  if (args.immediate) throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, 'immediate=true')
  ch.content.start(args)
}

/** The body of a basic.publish is complete: route it now, or buffer it in a transaction. */
export function publishContent(
  ch: AmqpChannel,
  method: MethodArgs['basic.publish'],
  properties: MessageProperties,
  body: Uint8Array,
): void {
  const message: Message = { exchange: method.exchange, routingKey: method.routingKey, properties, body }
  if (ch.tx) ch.tx.publishes.push({ message, mandatory: method.mandatory })
  else routeMessage(ch, message, method.mandatory, ch.confirms?.next())
}

/** Options of a mandatory publish without a confirm, shared so that publish allocates nothing. */
const MANDATORY: PublishOptions = Object.freeze({ mandatory: true })

/**
 * Publishes to the core. An unroutable mandatory message gets basic.return, written before the
 * confirm the core may already have issued from inside publish().
 */
export function routeMessage(ch: AmqpChannel, message: Message, mandatory: boolean, confirmId: number | undefined): void {
  ch.holdConfirms()
  try {
    const opts = confirmId !== undefined ? { confirmId, mandatory } : mandatory ? MANDATORY : undefined
    const result = ch.session.publish(message, opts)
    if (result === 'unroutable' && mandatory) {
      const args = { replyCode: ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: message.exchange, routingKey: message.routingKey }
      ch.sendWithContent('basic.return', args, message)
    }
  } finally {
    ch.releaseConfirms()
  }
}

export function basicGet(ch: AmqpChannel, args: MethodArgs['basic.get']): void {
  const got = ch.session.get(expandQueueName(ch, args.queue), { noAck: args.noAck })
  if (got === null) {
    ch.send('basic.get-empty', {})
    return
  }
  const { delivery, remaining } = got
  const m = delivery.message
  const sent = ch.sendWithContent(
    'basic.get-ok',
    { deliveryTag: delivery.id, redelivered: delivery.redelivered, exchange: m.exchange, routingKey: m.routingKey, messageCount: remaining },
    m,
  )
  if (sent) return
  // A message AMQP cannot carry: rejected (dead-lettered or dropped) rather than handed out.
  if (!args.noAck) ch.session.settle(delivery.id, 'reject')
  ch.send('basic.get-empty', {})
}

/** requeue=false is not implemented by RabbitMQ either (540). */
export function basicRecover(ch: AmqpChannel, args: MethodArgs['basic.recover']): void {
  if (!args.requeue) throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, 'requeue=false')
  ch.session.recover()
  ch.send('basic.recover-ok', {})
}

export function basicRecoverAsync(ch: AmqpChannel, args: MethodArgs['basic.recover-async']): void {
  if (!args.requeue) throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, 'requeue=false')
  ch.session.recover()
}
