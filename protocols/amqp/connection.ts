/**
 * One AMQP 0-9-1 connection, as RabbitMQ's rabbit_reader: protocol header, handshake
 * (start / start-ok / tune / tune-ok / open), frame dispatch to channels, heartbeats, resource
 * alarm blocking, and the close sequences in both directions.
 *
 * Read path: socket chunk -> FrameReader.push -> onFrame per frame -> channel; replies are
 * encoded without flushing and written once per chunk. Nothing here awaits, and no socket
 * callback throws: a failure closes this connection only.
 *
 * This file is over 300 lines because the connection state machine (handshake, channel map,
 * close, blocking) reads best in one place, like rabbit_reader; channel work lives in channel.ts.
 *
 * @module
 */
import { BrokerError, type AuthenticatedUser, type Broker, type Connection, type Table } from '../../src/api.ts'
import { log, logOnce } from '../../src/log.ts'
import type { Socket } from '../../src/runtime/socket.ts'
import { MECHANISMS } from './auth.ts'
import { AmqpChannel, type ChannelHost } from './channel.ts'
import { AmqpError, erlangBinary } from './codec/errors.ts'
import { FrameReader, type FrameHandler } from './codec/frame_reader.ts'
import { FrameWriter } from './codec/frame_writer.ts'
import { decodeMethod, type DecodedMethod, type MethodArgs } from './codec/methods.ts'
import { clientCapabilities, isAmqp091Header, login, loginRefused, negotiateTune, type ClientCapabilities } from './handshake.ts'
import { Heartbeat, unref } from './heartbeat.ts'
import { closeReasonFor, type CloseReason } from './reply_codes.ts'
import { serverProperties } from './server_properties.ts'
import { FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE, ReplyCode } from './spec/generated.ts'

export interface AmqpConnectionOptions {
  /** Offered in connection.tune, bytes (RabbitMQ: 131072); 0 = no limit. */
  frameMax: number
  /** Offered in connection.tune (RabbitMQ: 2047); 0 = no limit. */
  channelMax: number
  /** Offered in connection.tune, seconds (RabbitMQ: 60); 0 disables heartbeats. */
  heartbeat: number
  /** Milliseconds a client has from accept to open-ok; default 10 000 as RabbitMQ. */
  handshakeTimeout?: number
}

const HANDSHAKE_TIMEOUT_MS = 10_000
/** How long we wait for close-ok after sending connection.close. */
const CLOSE_OK_TIMEOUT_MS = 3_000

/** rabbit_reader's state names, which also appear in its error texts. */
type State = 'handshake' | 'starting' | 'tuning' | 'opening' | 'running' | 'closing' | 'closed'

/** RabbitMQ's UNEXPECTED_FRAME text: "type T, all octets = <<…>>". */
function unexpectedFrame(type: number, payload: Uint8Array): AmqpError {
  const which = payload.length <= 16 ? 'all' : 'first 16'
  return new AmqpError(ReplyCode.UNEXPECTED_FRAME, `type ${type}, ${which} octets = ${erlangBinary(payload.subarray(0, 16), 'p')}`)
}

function notAllowed(detail: string, ids: { classId: number; methodId: number }): AmqpError {
  return new AmqpError(ReplyCode.NOT_ALLOWED, detail, ids)
}

export class AmqpConnection implements FrameHandler, ChannelHost {
  readonly writer: FrameWriter
  readonly maxMessageSize: number
  consumerCancelNotify = false
  readonly logContext: Record<string, unknown>
  #socket: Socket
  #broker: Broker
  #opts: AmqpConnectionOptions
  #reader: FrameReader
  #state: State = 'handshake'
  #user: AuthenticatedUser | undefined
  #core: Connection | undefined
  #clientProperties: Table = {}
  #capabilities: ClientCapabilities = clientCapabilities({})
  #channels = new Map<number, AmqpChannel>()
  #channelMax = 0
  /** The negotiated heartbeat interval (the client's), for the management API's `timeout`. */
  #heartbeatSeconds = 0
  #heartbeat: Heartbeat | undefined
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined
  #closeTimer: ReturnType<typeof setTimeout> | undefined
  /** Inside FrameReader.push: replies are flushed once at the end of the chunk. */
  #reading = false
  #writable = true
  /** The broker has a resource alarm. */
  #alarm = false
  #alarmReason = ''
  /** We stopped reading because this connection published during an alarm. */
  #blocked = false
  #blockedSent = false
  #stopAlarmListener: (() => void) | undefined

  constructor(socket: Socket, broker: Broker, opts: AmqpConnectionOptions) {
    this.#socket = socket
    this.#broker = broker
    this.#opts = opts
    this.maxMessageSize = broker.maxMessageSize
    this.logContext = { remote: `${socket.remoteAddress}:${socket.remotePort}` }
    this.writer = new FrameWriter((chunk) => this.#write(chunk))
    // RabbitMQ's initial_frame_max until tune-ok.
    this.#reader = new FrameReader(this, { frameMax: FRAME_MIN_SIZE })
    socket.onData((chunk) => this.#onData(chunk))
    socket.onDrain(() => this.#guard(() => this.#onDrain()))
    socket.onClose((error) => this.#guard(() => this.#onSocketClose(error)))
    this.#handshakeTimer = unref(
      setTimeout(() => this.#guard(() => this.#handshakeTimedOut()), opts.handshakeTimeout ?? HANDSHAKE_TIMEOUT_MS),
    )
  }

  // ---- socket callbacks ----

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return
    this.#heartbeat?.markReceived()
    this.#reading = true
    try {
      this.#reader.push(chunk)
    } catch (error) {
      // Only framing errors get here (handlers never throw out of onFrame): we lost sync.
      this.#reading = false
      this.#guard(() => this.#closeConnection(closeReasonFor(error, 0, 0, this.logContext), true))
    }
    this.#reading = false
    try {
      this.#flush()
    } catch (error) {
      this.#crash(error)
    }
  }

  #onDrain(): void {
    if (this.#writable) return
    this.#writable = true
    for (const channel of this.#channels.values()) channel.session.setWritable(true)
  }

  #onSocketClose(error?: Error): void {
    const state = this.#state
    this.#state = 'closed'
    clearTimeout(this.#closeTimer)
    this.#teardown()
    if (state === 'running') {
      log.info('client unexpectedly closed TCP connection', { ...this.logContext, error: error?.message })
    }
  }

  // ---- FrameHandler (read path) ----

  onProtocolHeader(header: Uint8Array): void {
    if (!isAmqp091Header(header)) {
      logOnce(`amqp:bad-header:${this.#socket.remoteAddress}`, 'warn', 'client did not start with the AMQP 0-9-1 protocol header', {
        ...this.logContext,
        header: erlangBinary(header, 'p'),
      })
      this.#state = 'closed'
      this.#reader.stop()
      this.writer.writeProtocolHeader()
      this.#flush()
      this.#teardown()
      this.#socket.end()
      return
    }
    this.#state = 'starting'
    this.writer.writeMethod(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: MECHANISMS,
      locales: 'en_US',
    })
  }

  onFrame(type: number, channel: number, payload: Uint8Array): void {
    try {
      if (this.#state === 'closing' || this.#state === 'closed') {
        if (type === FRAME_METHOD && channel === 0) this.#whileClosing(decodeMethod(payload))
      } else if (type === FRAME_METHOD) {
        if (channel === 0) this.#method0(decodeMethod(payload))
        else this.#channelMethod(channel, payload)
      } else if (type === FRAME_HEARTBEAT) {
        if (channel !== 0) throw unexpectedFrame(type, payload)
      } else {
        const target = this.#state === 'running' && channel !== 0 ? this.#channels.get(channel) : undefined
        if (target === undefined) {
          if (this.#state !== 'running' || channel === 0) throw unexpectedFrame(type, payload)
          throw new AmqpError(ReplyCode.UNEXPECTED_FRAME, 'expected method frame, got non method frame instead')
        }
        if (type === FRAME_HEADER) target.handleHeader(payload)
        else target.handleBody(payload)
      }
    } catch (error) {
      this.connectionError(closeReasonFor(error, 0, 0, this.logContext))
    }
  }

  #channelMethod(channel: number, payload: Uint8Array): void {
    if (this.#state !== 'running') throw unexpectedFrame(FRAME_METHOD, payload)
    const method = decodeMethod(payload)
    const target = this.#channels.get(channel)
    if (target !== undefined) target.handleMethod(method)
    else if (method.name === 'channel.open') this.#openChannel(channel, method)
    else throw new AmqpError(ReplyCode.CHANNEL_ERROR, "expected 'channel.open'", method)
  }

  #openChannel(id: number, method: DecodedMethod): void {
    const max = this.#channelMax
    if (id > max) throw notAllowed(`channel id ${id} is higher than the negotiated channel_max (${max})`, method)
    if (this.#channels.size >= max) {
      throw notAllowed(`number of channels opened (${this.#channels.size}) has reached the negotiated channel_max (${max})`, method)
    }
    const channel = new AmqpChannel(id, this, this.#core!)
    this.#channels.set(id, channel)
    if (!this.#writable) channel.session.setWritable(false)
    channel.send('channel.open-ok', {})
  }

  // ---- channel 0 ----

  /** Channel 0: errors of the core (a BrokerError has no ids) are reported against the method. */
  #method0(m: DecodedMethod): void {
    try {
      this.#connectionMethod(m)
    } catch (error) {
      this.connectionError(closeReasonFor(error, m.classId, m.methodId, this.logContext))
    }
  }

  #connectionMethod(m: DecodedMethod): void {
    const state = this.#state
    if (m.name === 'connection.start-ok' && state === 'starting') return this.#startOk(m.args)
    if (m.name === 'connection.tune-ok' && state === 'tuning') return this.#tuneOk(m.args)
    if (m.name === 'connection.open' && state === 'opening') return this.#open(m.args)
    if (m.name === 'connection.close') return this.#closeFromClient()
    if (m.name === 'connection.update-secret' && state === 'running') return this.#updateSecret()
    throw new AmqpError(ReplyCode.CHANNEL_ERROR, `unexpected method in connection state ${state}`, m)
  }

  #startOk(args: MethodArgs['connection.start-ok']): void {
    this.#clientProperties = args.clientProperties
    this.#capabilities = clientCapabilities(args.clientProperties)
    this.consumerCancelNotify = this.#capabilities.consumerCancelNotify
    const result = login(this.#broker, args, this.#socket.remoteAddress)
    if ('refused' in result) {
      const key = `amqp:login:${this.#socket.remoteAddress}:${result.username}`
      logOnce(key, 'warn', `${args.mechanism} login refused: ${result.refused}`, this.logContext)
      if (this.#capabilities.authenticationFailureClose) throw loginRefused(args.mechanism)
      // RabbitMQ closes the socket without a word for clients that did not ask for the close.
      this.#state = 'closed'
      this.#reader.stop()
      this.#teardown()
      this.#socket.end()
      return
    }
    this.#user = result.user
    this.logContext.user = this.#user.name
    this.#state = 'tuning'
    this.writer.writeMethod(0, 'connection.tune', {
      channelMax: this.#opts.channelMax,
      frameMax: this.#opts.frameMax,
      heartbeat: this.#opts.heartbeat,
    })
  }

  #tuneOk(args: MethodArgs['connection.tune-ok']): void {
    const { frameMax, channelMax } = negotiateTune(this.#opts, args)
    this.#channelMax = channelMax
    this.#heartbeatSeconds = args.heartbeat
    this.#reader.frameMax = frameMax
    this.writer.frameMax = frameMax
    // The client's heartbeat wins, 0 included (as RabbitMQ).
    this.#heartbeat = new Heartbeat({
      seconds: args.heartbeat,
      send: () => this.#guard(() => this.#sendHeartbeat()),
      timeout: () => this.#guard(() => this.#heartbeatTimedOut(args.heartbeat)),
    })
    this.#state = 'opening'
  }

  #open(args: MethodArgs['connection.open']): void {
    const name = this.#clientProperties.connection_name
    this.#core = this.#broker.connect({
      protocol: 'amqp',
      vhost: args.virtualHost,
      user: this.#user!,
      remoteAddress: this.#socket.remoteAddress,
      remotePort: this.#socket.remotePort,
      localAddress: this.#socket.localAddress,
      localPort: this.#socket.localPort,
      clientName: typeof name === 'string' ? name : undefined,
      clientProperties: this.#clientProperties,
      maxSessions: this.#channelMax,
      maxFrameSize: this.#reader.frameMax,
      heartbeatSeconds: this.#heartbeatSeconds,
    })
    this.logContext.vhost = args.virtualHost
    this.#state = 'running'
    clearTimeout(this.#handshakeTimer)
    this.writer.writeMethod(0, 'connection.open-ok', {})
    this.#core.onForcedClose((error) => this.#guard(() => this.connectionError(closeReasonFor(error, 0, 0, this.logContext))))
    if (this.#broker.blocked) this.#onAlarm(true, this.#broker.blockedReason ?? 'memory')
    this.#stopAlarmListener = this.#broker.onBlocked((blocked, reason) => this.#guard(() => this.#onAlarm(blocked, reason)))
    log.info('AMQP connection opened', this.logContext)
  }

  #updateSecret(): void {
    // RabbitMQ (rabbit_access_control:update_state/2) only hands the new secret to auth
    // backends whose state can expire; the internal user database never expires, so the
    // secret is accepted as is and the connection keeps its user. Clients' test suites
    // (amqplib, amqp-client.js) rely on this.
    this.writer.writeMethod(0, 'connection.update-secret-ok', {})
  }

  // ---- ChannelHost ----

  flushSoon(): void {
    if (!this.#reading) this.#flush()
  }

  channelEnded(channel: AmqpChannel): void {
    if (this.#channels.get(channel.id) === channel) this.#channels.delete(channel.id)
  }

  /** A hard error: connection.close with `reason`, then wait for close-ok. */
  connectionError(reason: CloseReason): void {
    this.#closeConnection(reason, this.#state !== 'running')
  }

  /** RabbitMQ's "blocking" -> "blocked": stop reading a connection that publishes during an alarm. */
  publishReceived(): void {
    if (!this.#alarm || this.#blocked) return
    this.#blocked = true
    this.#socket.pause()
    this.#heartbeat?.pauseMonitor(true)
    if (this.#capabilities.connectionBlocked) {
      this.writer.writeMethod(0, 'connection.blocked', { reason: this.#alarmReason })
      this.#blockedSent = true
      this.flushSoon()
    }
  }

  // ---- internals ----

  #write(chunk: Uint8Array): boolean {
    this.#heartbeat?.markSent()
    return this.#socket.write(chunk)
  }

  /** Hands encoded frames to the socket; a full socket stops deliveries until it drains. */
  #flush(): void {
    if (this.writer.flush() || !this.#writable) return
    this.#writable = false
    for (const channel of this.#channels.values()) channel.session.setWritable(false)
  }

  #sendHeartbeat(): void {
    if (this.#state === 'closed') return
    this.writer.writeHeartbeat()
    this.#flush()
  }

  #onAlarm(blocked: boolean, reason: string): void {
    this.#alarm = blocked
    // The core names the resource ("memory"); clients expect RabbitMQ's "low on memory".
    this.#alarmReason = reason.startsWith('low on ') ? reason : `low on ${reason}`
    if (blocked || !this.#blocked) return
    this.#blocked = false
    this.#socket.resume()
    this.#heartbeat?.pauseMonitor(false)
    if (this.#blockedSent) {
      this.#blockedSent = false
      this.writer.writeMethod(0, 'connection.unblocked', {})
      this.flushSoon()
    }
  }

  /**
   * Sends connection.close and releases every channel and the core connection. `endNow` (handshake
   * errors, lost framing) closes the socket right after the close frame; otherwise we wait for
   * close-ok, a few seconds at most.
   */
  #closeConnection(reason: CloseReason, endNow: boolean): void {
    if (this.#state === 'closing' || this.#state === 'closed') return
    this.#state = endNow ? 'closed' : 'closing'
    this.writer.writeMethod(0, 'connection.close', {
      replyCode: reason.replyCode,
      replyText: reason.replyText,
      classId: reason.classId,
      methodId: reason.methodId,
    })
    this.#teardown()
    this.#flush()
    if (endNow) {
      this.#reader.stop()
      this.#socket.end()
    } else {
      this.#closeTimer = unref(setTimeout(() => this.#guard(() => this.#socket.destroy()), CLOSE_OK_TIMEOUT_MS))
    }
  }

  #closeFromClient(): void {
    this.#state = 'closed'
    this.#reader.stop()
    this.#teardown()
    this.writer.writeMethod(0, 'connection.close-ok', {})
    this.#flush()
    this.#socket.end()
  }

  /** After we sent connection.close: only close and close-ok matter (rabbit_reader's "closed"). */
  #whileClosing(m: DecodedMethod): void {
    if (this.#state !== 'closing') return
    if (m.name === 'connection.close') this.writer.writeMethod(0, 'connection.close-ok', {})
    else if (m.name !== 'connection.close-ok') return
    this.#state = 'closed'
    clearTimeout(this.#closeTimer)
    this.#reader.stop()
    this.#flush()
    this.#socket.end()
  }

  #handshakeTimedOut(): void {
    if (this.#state === 'running' || this.#state === 'closed') return
    logOnce(`amqp:handshake-timeout:${this.#socket.remoteAddress}`, 'warn', 'AMQP handshake timeout', { ...this.logContext, state: this.#state })
    this.#state = 'closed'
    this.#teardown()
    this.#socket.destroy()
  }

  #heartbeatTimedOut(seconds: number): void {
    if (this.#state === 'closed') return
    log.warn(`missed heartbeats from client, timeout: ${seconds}s`, this.logContext)
    this.#state = 'closed'
    this.#teardown()
    this.#socket.destroy()
  }

  /** Releases channels (requeueing their unacked deliveries), the core connection and timers. Idempotent. */
  #teardown(): void {
    clearTimeout(this.#handshakeTimer)
    this.#heartbeat?.stop()
    this.#stopAlarmListener?.()
    this.#stopAlarmListener = undefined
    const channels = [...this.#channels.values()]
    this.#channels.clear()
    for (const channel of channels) channel.shutdown()
    const core = this.#core
    this.#core = undefined
    core?.close()
  }

  /** Socket callbacks and timers must never throw: a bug closes this connection only. */
  #guard(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.#crash(error)
    }
  }

  #crash(error: unknown): void {
    logOnce('amqp:adapter-bug', 'error', 'AMQP connection failed', { ...this.logContext, error: String((error as Error)?.stack ?? error) })
    this.#state = 'closed'
    try {
      this.#teardown()
    } finally {
      this.#socket.destroy()
    }
  }
}
