/**
 * exchange.declare / delete / bind / unbind: straight onto the core session.
 *
 * @module
 */
import type { MethodArgs } from '../codec/methods.ts'
import type { AmqpChannel } from '../channel.ts'

export function exchangeDeclare(ch: AmqpChannel, args: MethodArgs['exchange.declare']): void {
  ch.session.declareExchange(args.exchange, args.type, {
    passive: args.passive,
    durable: args.durable,
    autoDelete: args.autoDelete,
    internal: args.internal,
    args: args.arguments,
  })
  if (!args.nowait) ch.send('exchange.declare-ok', {})
}

export function exchangeDelete(ch: AmqpChannel, args: MethodArgs['exchange.delete']): void {
  ch.session.deleteExchange(args.exchange, { ifUnused: args.ifUnused })
  if (!args.nowait) ch.send('exchange.delete-ok', {})
}

export function exchangeBind(ch: AmqpChannel, args: MethodArgs['exchange.bind']): void {
  ch.session.bind({
    source: args.source,
    destination: args.destination,
    destinationKind: 'exchange',
    routingKey: args.routingKey,
    args: args.arguments,
  })
  if (!args.nowait) ch.send('exchange.bind-ok', {})
}

export function exchangeUnbind(ch: AmqpChannel, args: MethodArgs['exchange.unbind']): void {
  ch.session.unbind({
    source: args.source,
    destination: args.destination,
    destinationKind: 'exchange',
    routingKey: args.routingKey,
    args: args.arguments,
  })
  if (!args.nowait) ch.send('exchange.unbind-ok', {})
}
