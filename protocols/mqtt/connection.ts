/**
 * One MQTT network connection: framing with the size cap (packet_reader.ts), decoding with the
 * protocol level of its CONNECT (packet_parser.ts), batched writes (flushed at the end of each
 * incoming chunk or at the core's flush), socket backpressure, the CONNECT timeout and keep
 * alive (1.5 x the client's value [MQTT-3.1.2-24]), and every way a connection ends. The session
 * state lives in session.ts once CONNECT succeeded.
 *
 * Read path: socket chunk -> PacketReader.push -> one parse per whole packet -> dispatch.
 * Nothing here awaits, and no socket callback throws: a failure closes this connection only.
 *
 * @module
 */
import type { Packet } from 'mqtt-packet'
import { log, logOnce } from '../../src/log.ts'
import type { Socket } from '../../src/runtime/socket.ts'
import { dispatch } from './dispatch.ts'
import type { AdapterContext } from './options.ts'
import { DuplicatePropertyError, parsePacket, type ParseSink } from './packet_parser.ts'
import { PacketReader, type PacketSink } from './packet_reader.ts'
import { PacketWriter } from './packet_writer.ts'
import { CONNACK_V3, logFault, RC } from './reason_codes.ts'
import type { MqttSession, SessionHost } from './session.ts'

const CONNECT_TIMEOUT_MS = 10_000
const NO_BYTES = new Uint8Array(0)

const NEW = 0
const CONNECTED = 1
const CLOSED = 2

type Timer = ReturnType<typeof setTimeout>

function unref(timer: Timer): Timer {
  ;(timer as { unref?: () => void }).unref?.()
  return timer
}

export class MqttConnection implements SessionHost, PacketSink, ParseSink {
  readonly ctx: AdapterContext
  readonly socket: Socket
  readonly writer: PacketWriter
  /** 3, 4 or 5 once CONNECT was read. */
  version: 3 | 4 | 5 = 4
  session: MqttSession | undefined
  /** Raw bytes of the packet being handled (for checks mqtt-packet does not make). */
  current: Uint8Array = NO_BYTES
  #reader: PacketReader
  #logContext: Record<string, unknown> | undefined
  #state = NEW
  /** Some bytes arrived (the first must start a CONNECT). */
  #started = false
  #reading = false
  #writable = true
  /** The CONNECT timeout, then the keep-alive timer. */
  #timer: Timer | undefined
  #keepAliveMs = 0
  #lastRead = 0
  /** Set while we stop reading a publisher during a resource alarm; removes the alarm listener. */
  #unblock: (() => void) | undefined

  constructor(socket: Socket, ctx: AdapterContext) {
    this.socket = socket
    this.ctx = ctx
    this.writer = new PacketWriter((chunk) => socket.write(chunk))
    this.#reader = new PacketReader(ctx.opts.maxPacketSize)
    socket.onData((chunk) => this.#onData(chunk))
    socket.onDrain(() => this.#guard(() => this.#onDrain()))
    socket.onClose((error) => this.#guard(() => this.#onSocketClose(error)))
    this.#timer = unref(setTimeout(() => this.#guard(() => this.#connectTimedOut()), ctx.opts.connectTimeout ?? CONNECT_TIMEOUT_MS))
  }

  /** Log fields naming the connection (built on first use: most connections never log). */
  get logContext(): Record<string, unknown> {
    let context = this.#logContext
    if (context === undefined) {
      context = { remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` }
      const session = this.session
      if (session !== undefined) {
        context.client = session.clientId
        context.user = session.user.name
        context.vhost = session.vhost
      }
      this.#logContext = context
    }
    return context
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress
  }

  get connected(): boolean {
    return this.#state === CONNECTED
  }

  get closed(): boolean {
    return this.#state === CLOSED
  }

  // ---- socket callbacks ----

  #onData(chunk: Uint8Array): void {
    if (this.#state === CLOSED) return
    if (this.#keepAliveMs !== 0) this.#lastRead = Date.now()
    if (!this.#started) {
      this.#started = true
      // [MQTT-3.1.0-1]: the first packet is CONNECT (0x10); anything else (an HTTP request, TLS)
      // closes at once instead of waiting for a "packet" its first bytes seem to announce.
      if (chunk.length > 0 && chunk[0] !== 0x10) {
        logFault('connect-first', 'MQTT client did not start with CONNECT', this.logContext)
        this.#state = CLOSED
        this.#stop()
        this.socket.end()
        return
      }
    }
    this.#reading = true
    let error
    try {
      error = this.#reader.push(chunk, this)
    } catch (failure) {
      this.#reading = false
      return this.#crash(failure)
    }
    this.#reading = false
    if (error === 'malformed-length') {
      this.protocolError(RC.MALFORMED_PACKET, 'malformed remaining length')
    } else if (error === 'too-large') {
      this.protocolError(RC.PACKET_TOO_LARGE, `packet of ${this.#reader.refusedSize} bytes is over the maximum packet size ${this.#reader.maxPacketSize}`)
    }
    try {
      this.flush()
    } catch (failure) {
      this.#crash(failure)
    }
  }

  /** PacketSink: one whole packet from the reader. */
  handlePacket(bytes: Uint8Array): void {
    if (this.#state === CLOSED) return
    this.current = bytes
    try {
      parsePacket(bytes, this.#state === NEW ? undefined : this.version, this)
    } finally {
      // Not kept: it would pin the socket chunk it is a slice of.
      this.current = NO_BYTES
    }
  }

  /** ParseSink: the decoded packet. */
  packet(packet: Packet): void {
    if (this.#state === CLOSED) return
    try {
      dispatch(this, packet)
    } catch (error) {
      this.#crash(error)
    }
  }

  /** ParseSink: mqtt-packet refused the packet. */
  error(error: Error): void {
    if (this.#state === CLOSED) return
    if (error instanceof DuplicatePropertyError) {
      // Only v5 packets have properties: before CONNACK this is a v5 CONNECT.
      if (this.#state === NEW) {
        logFault('duplicate-property', `MQTT CONNECT: ${error.message}`, this.logContext)
        this.version = 5
        this.writer.protocolVersion = 5
        this.writer.encode({ cmd: 'connack', reasonCode: RC.PROTOCOL_ERROR, sessionPresent: false })
        return this.close(false)
      }
      return this.protocolError(RC.PROTOCOL_ERROR, error.message)
    }
    if (this.#state === NEW) {
      const first = this.current[0]! >> 4
      if (first === 1 && error.message === 'Invalid protocol version') {
        // [MQTT-3.1.2-2]: CONNACK 0x01 (v3 layout: the client's level is not one we speak) and close.
        logFault('protocol-version', 'MQTT client asked for an unsupported protocol level', this.logContext)
        this.writer.encode({ cmd: 'connack', returnCode: CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false })
        return this.close(false)
      }
    }
    this.protocolError(RC.MALFORMED_PACKET, `malformed packet: ${error.message}`)
  }

  #onDrain(): void {
    if (this.#writable) return
    this.#writable = true
    this.session?.setWritable(true)
  }

  #onSocketClose(error?: Error): void {
    if (this.#state === CLOSED) return
    const wasConnected = this.#state === CONNECTED
    this.#state = CLOSED
    this.#stop()
    // Closed by the peer without DISCONNECT: the will goes out [MQTT-3.1.2-8].
    this.session?.end(true)
    this.writer.discard()
    if (wasConnected) log.debug('MQTT client closed the connection without DISCONNECT', { ...this.logContext, error: error?.message })
  }

  // ---- SessionHost ----

  /** Writes what is queued now, unless the read path will at the end of this chunk. */
  flushSoon(): void {
    if (!this.#reading) this.flush()
  }

  /** Hands encoded packets to the socket; a full socket stops deliveries until it drains. */
  flush(): void {
    if (this.writer.flush() || !this.#writable) return
    this.#writable = false
    this.session?.setWritable(false)
  }

  /** The session is established: CONNACK goes out next; keep alive starts. */
  established(session: MqttSession, keepAliveSeconds: number): void {
    this.session = session
    this.#state = CONNECTED
    this.#logContext = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#keepAliveMs = keepAliveSeconds * 1500
    if (this.#keepAliveMs > 0) {
      this.#lastRead = Date.now()
      this.#armKeepAlive(this.#keepAliveMs)
    }
  }

  /**
   * A publish went through: during a resource alarm, stop reading this client until it clears
   * (MQTT has no "blocked" notice; RabbitMQ does the same). Keep alive does not count meanwhile.
   */
  publishReceived(): void {
    const broker = this.ctx.broker
    if (!broker.blocked || this.#unblock !== undefined) return
    this.socket.pause()
    const stop = broker.onBlocked((blocked) => {
      if (blocked) return
      this.#unblock?.()
      if (this.#state !== CLOSED) {
        this.#lastRead = Date.now()
        this.socket.resume()
      }
    })
    this.#unblock = () => {
      stop()
      this.#unblock = undefined
    }
  }

  /**
   * A fault of the client: v5 gets DISCONNECT with `reason` (once connected), then the connection
   * closes; the will is published [MQTT-3.1.2-8]. Logged once per kind.
   */
  protocolError(reason: number, message: string): void {
    if (this.#state === CLOSED) return
    logFault(String(reason), `MQTT protocol error: ${message}`, this.logContext)
    this.disconnect(reason, true)
  }

  /** Server-side DISCONNECT (v5 only, once connected) and close. */
  disconnect(reason: number, will: boolean): void {
    if (this.#state === CLOSED) return
    if (this.#state === CONNECTED && this.version === 5) {
      try {
        this.writer.encode({ cmd: 'disconnect', reasonCode: reason })
      } catch {
        // Nothing better to say; close anyway.
      }
    }
    this.close(will)
  }

  /** Ends the connection: the session ends (`will`: publish it), queued packets flush, the socket closes. */
  close(will: boolean): void {
    if (this.#state === CLOSED) return
    this.#state = CLOSED
    this.#stop()
    this.session?.end(will)
    try {
      this.writer.flush()
    } finally {
      this.socket.end()
    }
  }

  // ---- internals ----

  #stop(): void {
    this.#unblock?.()
    this.#reader.stop()
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#keepAliveMs = 0
  }

  #connectTimedOut(): void {
    if (this.#state !== NEW) return
    logOnce(`mqtt:connect-timeout:${this.socket.remoteAddress}`, 'warn', 'MQTT client sent no CONNECT in time', this.logContext)
    this.#state = CLOSED
    this.#stop()
    this.socket.destroy()
  }

  #armKeepAlive(ms: number): void {
    this.#timer = unref(setTimeout(() => this.#guard(() => this.#checkKeepAlive()), ms))
  }

  /** One timer per connection, re-armed for the remaining time instead of on every packet. */
  #checkKeepAlive(): void {
    if (this.#state !== CONNECTED || this.#keepAliveMs === 0) return
    if (this.#unblock !== undefined) this.#lastRead = Date.now()
    const idle = Date.now() - this.#lastRead
    if (idle < this.#keepAliveMs) return this.#armKeepAlive(this.#keepAliveMs - idle)
    logFault('keep-alive', `MQTT client silent for ${idle} ms (keep alive x 1.5 = ${this.#keepAliveMs} ms)`, this.logContext)
    this.disconnect(RC.KEEP_ALIVE_TIMEOUT, true)
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
    logOnce('mqtt:adapter-bug', 'error', 'MQTT connection failed', { ...this.logContext, error: String((error as Error)?.stack ?? error) })
    if (this.#state === CLOSED) return this.socket.destroy()
    this.#state = CLOSED
    this.#stop()
    try {
      this.session?.end(true)
    } finally {
      this.writer.discard()
      this.socket.destroy()
    }
  }
}
