/**
 * One AMQP channel: its core session, its content assembler, confirm/tx mode, and the one
 * dispatch switch from method name to handler. Also the session's event sink: deliveries,
 * confirms, server-side consumer cancels and core-initiated closes come back through here.
 *
 * Lifecycle (as rabbit_channel): open -> closing (we sent channel.close: everything but
 * close/close-ok is ignored until the peer's close-ok) -> closed.
 *
 * @module
 */
import type { BrokerError, Connection, Delivery, Message, MessageProperties, Session, SessionEvents } from '../../src/api.ts'
import { log } from '../../src/log.ts'
import { AmqpError } from './codec/errors.ts'
import type { FrameWriter } from './codec/frame_writer.ts'
import type { DecodedMethod, EncodeArgs, MethodArgs, MethodName } from './codec/methods.ts'
import { PublisherConfirms } from './confirms.ts'
import { ContentAssembler, type ContentSink } from './content_assembler.ts'
import { basicAck, basicNack, basicReject } from './handlers/ack.ts'
import {
  basicCancel,
  basicConsume,
  basicGet,
  basicPublish,
  basicQos,
  basicRecover,
  basicRecoverAsync,
  publishContent,
} from './handlers/basic.ts'
import { accessRequest, channelFlow } from './handlers/channel_flow.ts'
import { confirmSelect, txCommit, txConfirmed, txRollback, txSelect, type TxState } from './handlers/confirm_tx.ts'
import { exchangeBind, exchangeDeclare, exchangeDelete, exchangeUnbind } from './handlers/exchange.ts'
import { queueBind, queueDeclare, queueDelete, queuePurge, queueUnbind } from './handlers/queue.ts'
import { closeReasonFor, type CloseReason } from './reply_codes.ts'
import { ReplyCode } from './spec/generated.ts'

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly writer: FrameWriter
  readonly maxMessageSize: number
  /** The client advertised capabilities.consumer_cancel_notify. */
  readonly consumerCancelNotify: boolean
  /** Log fields naming the connection. */
  readonly logContext: Record<string, unknown>
  /** Writes what is queued now, unless the read path will at the end of this chunk. */
  flushSoon(): void
  /** The channel is gone (close-ok sent or received); its id may be reused. */
  channelEnded(channel: AmqpChannel): void
  /** A hard error: close the whole connection. */
  connectionError(reason: CloseReason): void
  /** A publish completed on this connection (blocks it while the broker has an alarm). */
  publishReceived(): void
}

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

const BASIC = 60
const BASIC_PUBLISH = 40

export class AmqpChannel implements SessionEvents, ContentSink {
  readonly id: number
  readonly session: Session
  readonly content: ContentAssembler
  /** The last queue declared on this channel: what an empty queue name stands for. */
  lastQueue = ''
  /** Set by confirm.select. */
  confirms: PublisherConfirms | undefined
  /** Set by tx.select. */
  tx: TxState | undefined
  #host: ChannelHost
  #writer: FrameWriter
  #state = OPEN
  /** Deliveries the core made while basic.consume was still in progress (before consume-ok). */
  #heldDeliveries: Delivery[] | undefined
  #holdingConfirms = false
  #heldAcks: number[] | undefined
  #heldNacks: number[] | undefined

  constructor(id: number, host: ChannelHost, connection: Connection) {
    this.id = id
    this.#host = host
    this.#writer = host.writer
    this.content = new ContentAssembler(this)
    this.session = connection.openSession(this)
  }

  // ---- frames from the connection (read path; must not await) ----

  handleMethod(method: DecodedMethod): void {
    if (this.#state !== OPEN) {
      this.#whileClosing(method.name)
      return
    }
    try {
      if (this.content.busy) throw this.content.unexpectedMethod()
      if (this.tx?.committing && method.name !== 'channel.close') {
        throw new AmqpError(ReplyCode.CHANNEL_ERROR, "unexpected command while processing 'tx.commit'")
      }
      this.#dispatch(method)
    } catch (error) {
      this.fail(error, method.classId, method.methodId)
    }
  }

  handleHeader(payload: Uint8Array): void {
    if (this.#state !== OPEN) return
    try {
      this.content.header(payload, this.#host.maxMessageSize)
    } catch (error) {
      this.#contentFailed(error)
    }
  }

  handleBody(payload: Uint8Array): void {
    if (this.#state !== OPEN) return
    try {
      this.content.body(payload)
    } catch (error) {
      this.#contentFailed(error)
    }
  }

  /** The one dispatcher: method name -> handler, no logic. */
  #dispatch(m: DecodedMethod): void {
    switch (m.name) {
      case 'channel.open': throw new AmqpError(ReplyCode.CHANNEL_ERROR, "second 'channel.open' seen")
      case 'channel.flow': return channelFlow(this, m.args)
      case 'channel.flow-ok': return
      case 'channel.close': return this.#closeFromClient()
      case 'channel.close-ok': return
      case 'access.request': return accessRequest(this)
      case 'exchange.declare': return exchangeDeclare(this, m.args)
      case 'exchange.delete': return exchangeDelete(this, m.args)
      case 'exchange.bind': return exchangeBind(this, m.args)
      case 'exchange.unbind': return exchangeUnbind(this, m.args)
      case 'queue.declare': return queueDeclare(this, m.args)
      case 'queue.bind': return queueBind(this, m.args)
      case 'queue.unbind': return queueUnbind(this, m.args)
      case 'queue.purge': return queuePurge(this, m.args)
      case 'queue.delete': return queueDelete(this, m.args)
      case 'basic.qos': return basicQos(this, m.args)
      case 'basic.consume': return basicConsume(this, m.args)
      case 'basic.cancel': return basicCancel(this, m.args)
      case 'basic.publish': return basicPublish(this, m.args)
      case 'basic.get': return basicGet(this, m.args)
      case 'basic.ack': return basicAck(this, m.args)
      case 'basic.nack': return basicNack(this, m.args)
      case 'basic.reject': return basicReject(this, m.args)
      case 'basic.recover': return basicRecover(this, m.args)
      case 'basic.recover-async': return basicRecoverAsync(this, m.args)
      case 'confirm.select': return confirmSelect(this, m.args)
      case 'tx.select': return txSelect(this)
      case 'tx.commit': return txCommit(this)
      case 'tx.rollback': return txRollback(this)
      default: throw new AmqpError(ReplyCode.COMMAND_INVALID, 'unimplemented method')
    }
  }

  /** ContentSink: the body of a basic.publish is complete. */
  contentComplete(method: MethodArgs['basic.publish'], properties: MessageProperties, body: Uint8Array): void {
    publishContent(this, method, properties, body)
    // After routing: the publish that raised the alarm blocks its own connection too.
    this.#host.publishReceived()
  }

  // ---- used by handlers ----

  send<N extends MethodName>(name: N, args: EncodeArgs<N>): void {
    this.#writer.writeMethod(this.id, name, args)
  }

  /**
   * A content-carrying method and its message. False, with nothing written and one log line,
   * when the message cannot be expressed in AMQP (it came from another protocol with, say, a
   * header name over 255 bytes or a table nested too deeply): such a message must never take
   * the connection, or the broker, down.
   */
  sendWithContent<N extends MethodName>(name: N, args: EncodeArgs<N>, message: Message): boolean {
    try {
      this.#writer.writeMethodWithContent(this.id, name, args, message.properties, message.body)
      return true
    } catch (error) {
      log.once('amqp.unencodable', 'warn', 'A message cannot be encoded for an AMQP client; it is rejected (dead-lettered if the queue has a DLX)', {
        ...this.#host.logContext,
        channel: this.id,
        error: error instanceof Error ? error.message : String(error),
      })
      return false
    }
  }

  flushSoon(): void {
    this.#host.flushSoon()
  }

  /** Until releaseDeliveries(), deliveries are queued instead of written (basic.consume). */
  holdDeliveries(): void {
    this.#heldDeliveries ??= []
  }

  releaseDeliveries(): void {
    const held = this.#heldDeliveries
    this.#heldDeliveries = undefined
    if (held === undefined || this.#state !== OPEN) return
    for (const delivery of held) this.#writeDelivery(delivery)
  }

  /** Until releaseConfirms(), confirms are queued instead of written (basic.publish). */
  holdConfirms(): void {
    this.#holdingConfirms = true
  }

  releaseConfirms(): void {
    this.#holdingConfirms = false
    const acks = this.#heldAcks
    const nacks = this.#heldNacks
    this.#heldAcks = undefined
    this.#heldNacks = undefined
    if (acks) this.#confirm(acks.sort(ascending), false)
    if (nacks) this.#confirm(nacks.sort(ascending), true)
  }

  /**
   * Handles an error of a method on this channel: a soft error closes the channel, a hard one
   * the connection (reply_codes.ts decides).
   */
  fail(error: unknown, classId: number, methodId: number): void {
    const reason = closeReasonFor(error, classId, methodId, { ...this.#host.logContext, channel: this.id })
    if (reason.scope === 'connection') this.#host.connectionError(reason)
    else this.#closeWith(reason)
  }

  /** The connection is going away: release the session (requeues unacked deliveries). */
  shutdown(): void {
    if (this.#state === CLOSED) return
    this.#state = CLOSED
    this.content.reset()
    this.session.close()
  }

  // ---- SessionEvents (called by the core, possibly from another connection's read path) ----

  deliver(delivery: Delivery): void {
    if (this.#state !== OPEN) return
    if (this.#heldDeliveries !== undefined) this.#heldDeliveries.push(delivery)
    else this.#writeDelivery(delivery)
  }

  flush(): void {
    this.#host.flushSoon()
  }

  settled(confirmIds: readonly number[]): void {
    this.#onConfirm(confirmIds, false)
  }

  rejected(confirmIds: readonly number[]): void {
    this.#onConfirm(confirmIds, true)
  }

  consumerCancelled(tag: string): void {
    if (this.#state !== OPEN || !this.#host.consumerCancelNotify) return
    this.send('basic.cancel', { consumerTag: tag, nowait: true })
    this.#host.flushSoon()
  }

  closed(error: BrokerError): void {
    if (this.#state !== OPEN) return
    this.fail(error, 0, 0)
  }

  // ---- internals ----

  #writeDelivery(d: Delivery): void {
    const m = d.message
    const args = { consumerTag: d.consumerTag, deliveryTag: d.id, redelivered: d.redelivered, exchange: m.exchange, routingKey: m.routingKey }
    if (this.sendWithContent('basic.deliver', args, m)) return
    // Rejected after the core's deliver call returns; a no-ack delivery is settled already.
    const id = d.id
    queueMicrotask(() => {
      try {
        this.session.settle(id, 'reject')
      } catch {
        // Settled (no-ack) or the channel closed meanwhile.
      }
    })
  }

  #onConfirm(ids: readonly number[], nack: boolean): void {
    if (this.#state !== OPEN) return
    if (this.#holdingConfirms) {
      const held = nack ? (this.#heldNacks ??= []) : (this.#heldAcks ??= [])
      for (let i = 0; i < ids.length; i++) held.push(ids[i]!)
      return
    }
    this.#confirm(ids, nack)
    this.#host.flushSoon()
  }

  #confirm(ids: readonly number[], nack: boolean): void {
    if (this.#state !== OPEN) return
    if (this.tx) txConfirmed(this, this.tx, ids.length, nack)
    else if (this.confirms) this.confirms.write(this.#writer, this.id, ids, nack)
  }

  /** Errors of content frames: the publish's own ids, unless no publish was pending at all. */
  #contentFailed(error: unknown): void {
    const pending = !(error instanceof AmqpError) || error.classId !== 0
    this.fail(error, pending ? BASIC : 0, pending ? BASIC_PUBLISH : 0)
  }

  #closeFromClient(): void {
    this.#state = CLOSED
    this.content.reset()
    this.session.close()
    this.send('channel.close-ok', {})
    this.#host.channelEnded(this)
  }

  #closeWith(reason: CloseReason): void {
    if (this.#state !== OPEN) return
    this.#state = CLOSING
    this.content.reset()
    this.#heldDeliveries = undefined
    this.send('channel.close', {
      replyCode: reason.replyCode,
      replyText: reason.replyText,
      classId: reason.classId,
      methodId: reason.methodId,
    })
    this.session.close()
    this.#host.flushSoon()
  }

  #whileClosing(name: MethodName): void {
    if (this.#state !== CLOSING) return
    if (name === 'channel.close') {
      this.send('channel.close-ok', {})
    } else if (name === 'channel.close-ok') {
      this.#state = CLOSED
      this.#host.channelEnded(this)
    }
  }
}

function ascending(a: number, b: number): number {
  return a - b
}
