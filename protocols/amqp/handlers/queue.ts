/**
 * queue.declare / bind / unbind / purge / delete. An empty queue name means the channel's most
 * recently declared queue, as RabbitMQ's `expand_shortcuts` does (and an empty routing key on
 * queue.bind/unbind with an empty queue name means that queue's name too).
 *
 * @module
 */
import { BrokerError } from '../../../src/api.ts'
import type { MethodArgs } from '../codec/methods.ts'
import type { AmqpChannel } from '../channel.ts'

/** The queue an empty name stands for; 404 when the channel has declared none. */
export function expandQueueName(ch: AmqpChannel, name: string): string {
  if (name !== '') return name
  if (ch.lastQueue === '') throw new BrokerError('not-found', 'no previously declared queue')
  return ch.lastQueue
}

export function queueDeclare(ch: AmqpChannel, args: MethodArgs['queue.declare']): void {
  // No shortcut here: "" asks for a server-named queue (and a passive "" finds nothing).
  const info = ch.session.declareQueue(args.queue, {
    passive: args.passive,
    durable: args.durable,
    exclusive: args.exclusive,
    autoDelete: args.autoDelete,
    args: args.arguments,
  })
  ch.lastQueue = info.name
  if (!args.nowait) {
    ch.send('queue.declare-ok', { queue: info.name, messageCount: info.messages, consumerCount: info.consumers })
  }
}

export function queueBind(ch: AmqpChannel, args: MethodArgs['queue.bind']): void {
  const queue = expandQueueName(ch, args.queue)
  const routingKey = args.queue === '' && args.routingKey === '' ? queue : args.routingKey
  ch.session.bind({ source: args.exchange, destination: queue, destinationKind: 'queue', routingKey, args: args.arguments })
  if (!args.nowait) ch.send('queue.bind-ok', {})
}

export function queueUnbind(ch: AmqpChannel, args: MethodArgs['queue.unbind']): void {
  const queue = expandQueueName(ch, args.queue)
  const routingKey = args.queue === '' && args.routingKey === '' ? queue : args.routingKey
  ch.session.unbind({ source: args.exchange, destination: queue, destinationKind: 'queue', routingKey, args: args.arguments })
  ch.send('queue.unbind-ok', {})
}

export function queuePurge(ch: AmqpChannel, args: MethodArgs['queue.purge']): void {
  const messageCount = ch.session.purgeQueue(expandQueueName(ch, args.queue))
  if (!args.nowait) ch.send('queue.purge-ok', { messageCount })
}

export function queueDelete(ch: AmqpChannel, args: MethodArgs['queue.delete']): void {
  const messageCount = ch.session.deleteQueue(expandQueueName(ch, args.queue), {
    ifUnused: args.ifUnused,
    ifEmpty: args.ifEmpty,
  })
  if (!args.nowait) ch.send('queue.delete-ok', { messageCount })
}
