/**
 * confirm.select and tx.select / commit / rollback, with RabbitMQ's rules: a channel is in at
 * most one of the two modes, and tx methods on a non-transactional channel are 406.
 *
 * tx.commit publishes the buffered messages with internal confirm ids and answers commit-ok only
 * once the core has confirmed them all (as RabbitMQ waits for its queues); a negative confirm
 * fails the commit with 406 "partial tx completion".
 *
 * @module
 */
import { BrokerError, type Message } from '../../../src/api.ts'
import type { MethodArgs } from '../codec/methods.ts'
import { PublisherConfirms } from '../confirms.ts'
import type { AmqpChannel } from '../channel.ts'
import { routeMessage } from './basic.ts'

/** A channel's transaction: what tx.commit will apply. */
export interface TxState {
  publishes: { message: Message; mandatory: boolean }[]
  settlements: { ids: number | { upTo: number }; op: 'ack' | 'requeue' | 'reject' }[]
  /** Last internal confirm id handed to the core. */
  seq: number
  /** Confirms of the commit in progress not yet received. */
  awaiting: number
  /** True from the end of the commit's publish loop until commit-ok (or failure). */
  committing: boolean
  failed: boolean
}

const TX_COMMIT = { classId: 90, methodId: 20 }

export function confirmSelect(ch: AmqpChannel, args: MethodArgs['confirm.select']): void {
  if (ch.tx) throw new BrokerError('precondition-failed', 'cannot switch from tx to confirm mode')
  ch.confirms ??= new PublisherConfirms()
  if (!args.nowait) ch.send('confirm.select-ok', {})
}

export function txSelect(ch: AmqpChannel): void {
  if (ch.confirms) throw new BrokerError('precondition-failed', 'cannot switch from confirm to tx mode')
  ch.tx ??= { publishes: [], settlements: [], seq: 0, awaiting: 0, committing: false, failed: false }
  ch.send('tx.select-ok', {})
}

export function txCommit(ch: AmqpChannel): void {
  const tx = transaction(ch)
  const { publishes, settlements } = tx
  tx.publishes = []
  tx.settlements = []
  tx.failed = false
  for (const { message, mandatory } of publishes) {
    tx.awaiting++
    routeMessage(ch, message, mandatory, ++tx.seq)
  }
  for (const { ids, op } of settlements) ch.session.settle(ids, op)
  tx.committing = true
  completeCommit(ch, tx)
}

export function txRollback(ch: AmqpChannel): void {
  const tx = transaction(ch)
  tx.publishes = []
  tx.settlements = []
  ch.send('tx.rollback-ok', {})
}

/** The core confirmed (or refused) `count` of the commit's publishes. */
export function txConfirmed(ch: AmqpChannel, tx: TxState, count: number, rejected: boolean): void {
  tx.awaiting -= count
  if (rejected) tx.failed = true
  completeCommit(ch, tx)
}

function completeCommit(ch: AmqpChannel, tx: TxState): void {
  if (!tx.committing || tx.awaiting > 0) return
  tx.committing = false
  if (tx.failed) {
    ch.fail(new BrokerError('precondition-failed', 'partial tx completion'), TX_COMMIT.classId, TX_COMMIT.methodId)
    return
  }
  ch.send('tx.commit-ok', {})
  ch.flushSoon()
}

function transaction(ch: AmqpChannel): TxState {
  if (!ch.tx) throw new BrokerError('precondition-failed', 'channel is not transactional')
  return ch.tx
}
