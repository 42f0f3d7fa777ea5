/**
 * basic.ack / nack / reject -> session.settle. Inside a transaction they are buffered until
 * tx.commit (and dropped by tx.rollback).
 *
 * @module
 */
import type { MethodArgs } from '../codec/methods.ts'
import type { AmqpChannel } from '../channel.ts'

type SettleIds = number | { upTo: number }
type SettleOp = 'ack' | 'requeue' | 'reject'

function settle(ch: AmqpChannel, ids: SettleIds, op: SettleOp): void {
  if (ch.tx) ch.tx.settlements.push({ ids, op })
  else ch.session.settle(ids, op)
}

/** `multiple` with tag 0 acknowledges everything outstanding (the core's `upTo: 0`). */
export function basicAck(ch: AmqpChannel, args: MethodArgs['basic.ack']): void {
  settle(ch, args.multiple ? { upTo: args.deliveryTag } : args.deliveryTag, 'ack')
}

export function basicNack(ch: AmqpChannel, args: MethodArgs['basic.nack']): void {
  settle(ch, args.multiple ? { upTo: args.deliveryTag } : args.deliveryTag, args.requeue ? 'requeue' : 'reject')
}

export function basicReject(ch: AmqpChannel, args: MethodArgs['basic.reject']): void {
  settle(ch, args.deliveryTag, args.requeue ? 'requeue' : 'reject')
}
