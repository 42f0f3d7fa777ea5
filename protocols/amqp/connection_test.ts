/**
 * The adapter's state machine against a scripted core and an in-memory socket: handshake,
 * content assembly, confirm/return ordering and error closes, frame by frame. The black-box
 * tests with real clients over TCP are in test/amqp.
 */
import { describe, expect, test } from 'bun:test'
import {
  BrokerError,
  type AuthenticatedUser,
  type Broker,
  type Connection,
  type Delivery,
  type Message,
  type PublishResult,
  type Session,
  type SessionEvents,
} from '../../src/api.ts'
import type { Socket } from '../../src/runtime/socket.ts'
import { FrameWriter } from './codec/frame_writer.ts'
import { decodeMethod, type DecodedMethod, type EncodeArgs, type MethodName } from './codec/methods.ts'
import { AmqpConnection } from './connection.ts'

// ---- fakes ----

class FakeSocket implements Socket {
  readonly remoteAddress = '127.0.0.1'
  readonly remotePort = 40000
  out: Uint8Array[] = []
  closed = false
  ended = false
  paused = false
  #onData: (chunk: Uint8Array) => void = () => {}
  #onClose: (error?: Error) => void = () => {}
  write(data: Uint8Array): boolean {
    this.out.push(data.slice())
    return true
  }
  onData(listener: (chunk: Uint8Array) => void): void {
    this.#onData = listener
  }
  onDrain(): void {}
  onClose(listener: (error?: Error) => void): void {
    this.#onClose = listener
  }
  pause(): void {
    this.paused = true
  }
  resume(): void {
    this.paused = false
  }
  end(): void {
    this.ended = true
    this.destroy()
  }
  destroy(): void {
    if (this.closed) return
    this.closed = true
    this.#onClose()
  }
  feed(chunk: Uint8Array): void {
    this.#onData(chunk)
  }
}

class FakeSession implements Session {
  calls: string[] = []
  published: Message[] = []
  closedCount = 0
  readonly unackedCount = 0
  events: SessionEvents
  constructor(events: SessionEvents) {
    this.events = events
  }
  declareExchange(name: string): void {
    this.calls.push(`declareExchange ${name}`)
  }
  deleteExchange(name: string): void {
    this.calls.push(`deleteExchange ${name}`)
  }
  declareQueue(name: string) {
    this.calls.push(`declareQueue ${name}`)
    if (name === 'missing') throw new BrokerError('not-found', "no queue 'missing' in vhost '/'")
    return { name: name || 'amq.gen-1', messages: 0, consumers: 0 }
  }
  deleteQueue(): number {
    return 0
  }
  purgeQueue(name: string): number {
    this.calls.push(`purgeQueue ${name}`)
    return 3
  }
  bind(b: { source: string; destination: string; routingKey: string }): void {
    this.calls.push(`bind ${b.source} ${b.destination} ${b.routingKey}`)
  }
  unbind(): void {}
  /** exchange "missing" throws 404; "unroutable" routes nowhere; confirms are issued at once. */
  publish(message: Message, opts?: { confirmId?: number }): PublishResult {
    if (message.exchange === 'missing') throw new BrokerError('not-found', "no exchange 'missing' in vhost '/'")
    this.published.push(message)
    if (opts?.confirmId !== undefined) this.events.settled([opts.confirmId])
    return message.exchange === 'unroutable' ? 'unroutable' : 'routed'
  }
  /** Queue "ready" delivers one message from inside consume(). */
  consume(queue: string, opts: { tag?: string }): string {
    const tag = opts.tag || 'amq.ctag-1'
    if (queue === 'ready') {
      const message: Message = { exchange: '', routingKey: 'ready', properties: {}, body: new Uint8Array([1]) }
      const delivery: Delivery = { id: 1, consumerTag: tag, queue, message, redelivered: false, deliveryCount: 0 }
      this.events.deliver(delivery)
      this.events.flush()
    }
    return tag
  }
  cancel(): boolean {
    return true
  }
  get(): null {
    return null
  }
  settle(ids: number | { upTo: number }, op: string): void {
    this.calls.push(`settle ${JSON.stringify(ids)} ${op}`)
  }
  recover(): void {}
  setPrefetch(count: number, scope: string): void {
    this.calls.push(`setPrefetch ${count} ${scope}`)
  }
  setWritable(): void {}
  setFlow(): void {}
  close(): void {
    this.closedCount++
  }
}

function fakeBroker() {
  const sessions: FakeSession[] = []
  let coreClosed = 0
  let alarm: ((blocked: boolean, reason: string) => void) | undefined
  const user: AuthenticatedUser = { name: 'guest', tags: ['administrator'] }
  const broker: Broker = {
    authenticate({ username, password }) {
      if (username !== 'guest' || password !== 'guest') {
        throw new BrokerError('access-refused', `user '${username}' - invalid credentials`)
      }
      return user
    },
    connect(info) {
      if (info.vhost !== '/') throw new BrokerError('not-allowed', `vhost ${info.vhost} not found`, { scope: 'connection' })
      const connection: Connection = {
        id: 'c1',
        vhost: info.vhost,
        user,
        openSession(events) {
          const session = new FakeSession(events)
          sessions.push(session)
          return session
        },
        keyValue() {
          throw new Error('unused')
        },
        close() {
          coreClosed++
        },
        onForcedClose() {},
      }
      return connection
    },
    onBlocked(listener) {
      alarm = listener
      return () => {
        alarm = undefined
      }
    },
    blocked: false,
    maxMessageSize: 1000,
  }
  const setAlarm = (on: boolean) => alarm?.(on, 'low on memory')
  return { broker, sessions, coreClosed: () => coreClosed, setAlarm }
}

// ---- a scripted client ----

interface Frame {
  type: number
  channel: number
  payload: Uint8Array
  method?: DecodedMethod
}

function parseFrames(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = []
  let o = 0
  while (o + 7 <= bytes.length) {
    const type = bytes[o]!
    const channel = (bytes[o + 1]! << 8) | bytes[o + 2]!
    const size = new DataView(bytes.buffer, bytes.byteOffset + o + 3, 4).getUint32(0)
    const payload = bytes.subarray(o + 7, o + 7 + size)
    frames.push({ type, channel, payload, method: type === 1 ? decodeMethod(payload) : undefined })
    o += 8 + size
  }
  return frames
}

const AMQP_091 = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])
const utf8 = new TextEncoder()

class Client {
  readonly socket = new FakeSocket()
  readonly fake = fakeBroker()
  readonly connection: AmqpConnection
  #encoder = new FrameWriter((chunk) => {
    this.#pending.push(chunk.slice())
    return true
  })
  #pending: Uint8Array[] = []
  #read = 0

  constructor() {
    this.connection = new AmqpConnection(this.socket, this.fake.broker, { frameMax: 131072, channelMax: 16, heartbeat: 0 })
  }

  /** Queues a method; `flush()` sends everything queued as one socket chunk. */
  method<N extends MethodName>(channel: number, name: N, args: EncodeArgs<N>): this {
    this.#encoder.writeMethod(channel, name, args)
    return this
  }

  content(channel: number, body: Uint8Array, frameMax = 131072): this {
    this.#encoder.frameMax = frameMax
    this.#encoder.writeContent(channel, 60, {}, body)
    return this
  }

  raw(bytes: Uint8Array): this {
    this.#encoder.flush()
    this.#pending.push(bytes)
    return this
  }

  flush(): this {
    this.#encoder.flush()
    const size = this.#pending.reduce((n, c) => n + c.length, 0)
    const chunk = new Uint8Array(size)
    let o = 0
    for (const c of this.#pending) {
      chunk.set(c, o)
      o += c.length
    }
    this.#pending = []
    if (size > 0) this.socket.feed(chunk)
    return this
  }

  /** Frames the server wrote since the last call. */
  frames(): Frame[] {
    const fresh = this.socket.out.slice(this.#read)
    this.#read = this.socket.out.length
    const size = fresh.reduce((n, c) => n + c.length, 0)
    const all = new Uint8Array(size)
    let o = 0
    for (const c of fresh) {
      all.set(c, o)
      o += c.length
    }
    return parseFrames(all)
  }

  names(): string[] {
    return this.frames().map((f) => f.method?.name ?? `frame ${f.type}`)
  }

  /** Handshake up to open-ok, then channel 1 open. */
  open(): this {
    this.raw(AMQP_091).flush()
    this.method(0, 'connection.start-ok', {
      clientProperties: { capabilities: { consumer_cancel_notify: true, 'connection.blocked': true } },
      mechanism: 'PLAIN',
      response: utf8.encode('\0guest\0guest'),
    })
    this.method(0, 'connection.tune-ok', { channelMax: 16, frameMax: 131072, heartbeat: 0 })
    this.method(0, 'connection.open', { virtualHost: '/' })
    this.method(1, 'channel.open', {}).flush()
    expect(this.names()).toEqual(['connection.start', 'connection.tune', 'connection.open-ok', 'channel.open-ok'])
    return this
  }

  get session(): FakeSession {
    return this.fake.sessions[0]!
  }
}

function closeArgs(frame: Frame | undefined): { replyCode: number; replyText: string; classId: number; methodId: number } {
  return frame!.method!.args as never
}

// ---- tests ----

describe('handshake', () => {
  test('a non-AMQP header gets "AMQP 0 0 9 1" back and the socket ends', () => {
    const client = new Client()
    client.raw(utf8.encode('GET / HTTP/1.1\r\n\r\n')).flush()
    expect([...client.socket.out[0]!]).toEqual([...AMQP_091])
    expect(client.socket.ended).toBe(true)
  })

  test('connection.start announces RabbitMQ capabilities, PLAIN AMQPLAIN and en_US', () => {
    const client = new Client()
    client.raw(AMQP_091).flush()
    const start = client.frames()[0]!.method!
    expect(start.name).toBe('connection.start')
    const args = start.args as { versionMajor: number; versionMinor: number; mechanisms: string; locales: string; serverProperties: Record<string, unknown> }
    expect([args.versionMajor, args.versionMinor, args.mechanisms, args.locales]).toEqual([0, 9, 'PLAIN AMQPLAIN', 'en_US'])
    expect(args.serverProperties.product).toBe('Warren')
    expect((args.serverProperties.capabilities as Record<string, unknown>).publisher_confirms).toBe(true)
  })

  test('a refused login closes with 403 and the safe RabbitMQ text', () => {
    const client = new Client()
    client.raw(AMQP_091).flush().frames()
    client.method(0, 'connection.start-ok', {
      clientProperties: { capabilities: { authentication_failure_close: true } },
      mechanism: 'PLAIN',
      response: utf8.encode('\0guest\0nope'),
    })
    client.flush()
    const close = closeArgs(client.frames()[0])
    expect(close.replyCode).toBe(403)
    expect(close.replyText).toBe(
      'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
    )
    expect(client.socket.ended).toBe(true)
  })

  test('a refused login without authentication_failure_close just closes the socket', () => {
    const client = new Client()
    client.raw(AMQP_091).flush().frames()
    client.method(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: utf8.encode('\0guest\0nope') }).flush()
    expect(client.frames()).toEqual([])
    expect(client.socket.ended).toBe(true)
  })

  test('tune-ok with frame_max below 4096 closes with 530 as RabbitMQ', () => {
    const client = new Client()
    client.raw(AMQP_091).flush()
    client.method(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: utf8.encode('\0guest\0guest') })
    client.method(0, 'connection.tune-ok', { channelMax: 0, frameMax: 1000, heartbeat: 0 }).flush()
    const close = closeArgs(client.frames().at(-1))
    expect(close).toEqual({
      replyCode: 530,
      replyText: 'NOT_ALLOWED - negotiated frame_max = 1000 is lower than the minimum allowed value (4096)',
      classId: 10,
      methodId: 30,
    })
  })

  test('an unknown vhost closes with 530 NOT_ALLOWED and the core text', () => {
    const client = new Client()
    client.raw(AMQP_091).flush()
    client.method(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: utf8.encode('\0guest\0guest') })
    client.method(0, 'connection.tune-ok', { channelMax: 0, frameMax: 0, heartbeat: 0 })
    client.method(0, 'connection.open', { virtualHost: 'nope' }).flush()
    const close = closeArgs(client.frames().at(-1))
    expect([close.replyCode, close.replyText, close.classId, close.methodId]).toEqual([530, 'NOT_ALLOWED - vhost nope not found', 10, 40])
  })

  test('connection.close from the client is answered with close-ok and releases the core connection', () => {
    const client = new Client().open()
    client.method(0, 'connection.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }).flush()
    expect(client.names()).toEqual(['connection.close-ok'])
    expect(client.session.closedCount).toBe(1)
    expect(client.fake.coreClosed()).toBe(1)
    expect(client.socket.ended).toBe(true)
  })
})

describe('channels', () => {
  test("a method on an unopened channel is 504 CHANNEL_ERROR - expected 'channel.open'", () => {
    const client = new Client().open()
    client.method(2, 'basic.qos', { prefetchCount: 1 }).flush()
    const close = closeArgs(client.frames()[0])
    expect([close.replyCode, close.replyText, close.classId, close.methodId]).toEqual([504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10])
  })

  test('a channel id over channel_max is 530', () => {
    const client = new Client().open()
    client.method(17, 'channel.open', {}).flush()
    expect(closeArgs(client.frames()[0]).replyCode).toBe(530)
  })

  test('a soft error closes the channel; other methods are ignored until close-ok', () => {
    const client = new Client().open()
    client.method(1, 'queue.declare', { queue: 'missing', passive: true }).flush()
    const [close] = client.frames()
    expect(close!.method!.name).toBe('channel.close')
    expect(closeArgs(close)).toEqual({ replyCode: 404, replyText: "NOT_FOUND - no queue 'missing' in vhost '/'", classId: 50, methodId: 10 })
    expect(client.session.closedCount).toBe(1)
    client.method(1, 'queue.declare', { queue: 'q' }).flush()
    expect(client.names()).toEqual([])
    client.method(1, 'channel.close-ok', {}).method(1, 'channel.open', {}).flush()
    expect(client.names()).toEqual(['channel.open-ok'])
  })

  test('a heartbeat frame on a channel is 505 UNEXPECTED_FRAME', () => {
    const client = new Client().open()
    client.raw(new Uint8Array([8, 0, 1, 0, 0, 0, 0, 0xce])).flush()
    const close = closeArgs(client.frames()[0])
    expect([close.replyCode, close.replyText]).toEqual([505, 'UNEXPECTED_FRAME - type 8, all octets = <<>>'])
  })

  test('basic.qos with prefetch_size closes the connection with 540', () => {
    const client = new Client().open()
    client.method(1, 'basic.qos', { prefetchSize: 10, prefetchCount: 1 }).flush()
    const [close] = client.frames()
    expect(close!.channel).toBe(0)
    expect(closeArgs(close).replyText).toBe('NOT_IMPLEMENTED - prefetch_size!=0 (10)')
  })

  test('empty queue names mean the last declared queue', () => {
    const client = new Client().open()
    client.method(1, 'queue.declare', { queue: '' })
    client.method(1, 'queue.bind', { queue: '', exchange: 'amq.direct', routingKey: '' })
    client.method(1, 'queue.purge', { queue: '' }).flush()
    expect(client.session.calls).toEqual(['declareQueue ', 'bind amq.direct amq.gen-1 amq.gen-1', 'purgeQueue amq.gen-1'])
    expect(client.names()).toEqual(['queue.declare-ok', 'queue.bind-ok', 'queue.purge-ok'])
  })
})

describe('publish', () => {
  test('a body in one frame reaches the core as a view of the socket chunk', () => {
    const client = new Client().open()
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }).content(1, utf8.encode('hello')).flush()
    const [message] = client.session.published
    expect(new TextDecoder().decode(message!.body)).toBe('hello')
    expect(message!.body.byteLength).toBe(5)
    expect(message!.body.buffer.byteLength).toBeGreaterThan(5)
  })

  test('a body split over frames is assembled into one buffer', () => {
    const client = new Client().open()
    const body = new Uint8Array(700).map((_, i) => i % 251)
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }).content(1, body, 4096 / 8 + 8).flush()
    expect([...client.session.published[0]!.body]).toEqual([...body])
  })

  test('a body over the broker maximum is 406 on the channel', () => {
    const client = new Client().open()
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }).content(1, new Uint8Array(1001)).flush()
    const close = closeArgs(client.frames()[0])
    expect(close).toEqual({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000',
      classId: 60,
      methodId: 40,
    })
  })

  test('a method where a content header is due is 505', () => {
    const client = new Client().open()
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }).method(1, 'basic.qos', { prefetchCount: 1 }).flush()
    const close = closeArgs(client.frames()[0])
    expect([close.replyCode, close.classId, close.methodId]).toEqual([505, 60, 40])
  })

  test('mandatory unroutable: basic.return precedes the confirm ack', () => {
    const client = new Client().open()
    client.method(1, 'confirm.select', {}).flush()
    client.frames()
    client.method(1, 'basic.publish', { exchange: 'unroutable', routingKey: 'k', mandatory: true }).content(1, utf8.encode('x')).flush()
    expect(client.names()).toEqual(['basic.return', 'frame 2', 'frame 3', 'basic.ack'])
  })

  test('immediate=true is 540 NOT_IMPLEMENTED on the connection', () => {
    const client = new Client().open()
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k', immediate: true }).flush()
    const [close] = client.frames()
    expect([close!.channel, closeArgs(close).replyText]).toEqual([0, 'NOT_IMPLEMENTED - immediate=true'])
  })
})

describe('consume, confirm and tx', () => {
  test('consume-ok is written before deliveries made during consume', () => {
    const client = new Client().open()
    client.method(1, 'basic.consume', { queue: 'ready' }).flush()
    expect(client.names()).toEqual(['basic.consume-ok', 'basic.deliver', 'frame 2', 'frame 3'])
  })

  test('tx methods on a non-transactional channel are 406', () => {
    const client = new Client().open()
    client.method(1, 'tx.commit', {}).flush()
    expect(closeArgs(client.frames()[0]).replyText).toBe('PRECONDITION_FAILED - channel is not transactional')
  })

  test('confirm.select on a tx channel is 406', () => {
    const client = new Client().open()
    client.method(1, 'tx.select', {}).method(1, 'confirm.select', {}).flush()
    const frames = client.frames()
    expect(closeArgs(frames[1]).replyText).toBe('PRECONDITION_FAILED - cannot switch from tx to confirm mode')
  })

  test('tx buffers publishes and acks until commit; rollback drops them', () => {
    const client = new Client().open()
    client.method(1, 'tx.select', {})
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'a' }).content(1, utf8.encode('1'))
    client.method(1, 'basic.ack', { deliveryTag: 7 })
    client.method(1, 'tx.rollback', {})
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'b' }).content(1, utf8.encode('2'))
    client.method(1, 'tx.commit', {}).flush()
    expect(client.names()).toEqual(['tx.select-ok', 'tx.rollback-ok', 'tx.commit-ok'])
    expect(client.session.published.map((m) => m.routingKey)).toEqual(['b'])
    expect(client.session.calls.filter((c) => c.startsWith('settle'))).toEqual([])
  })
})

describe('resource alarm', () => {
  test('a connection that publishes during an alarm is paused and told connection.blocked; the end resumes it', () => {
    const client = new Client().open()
    client.fake.setAlarm(true)
    expect(client.socket.paused).toBe(false)
    client.method(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }).content(1, utf8.encode('x')).flush()
    expect(client.socket.paused).toBe(true)
    const [blocked] = client.frames()
    expect(blocked!.method!.name).toBe('connection.blocked')
    expect((blocked!.method!.args as { reason: string }).reason).toBe('low on memory')
    client.fake.setAlarm(false)
    expect(client.socket.paused).toBe(false)
    expect(client.names()).toEqual(['connection.unblocked'])
  })

  test('a connection that does not publish is never blocked', () => {
    const client = new Client().open()
    client.fake.setAlarm(true)
    client.method(1, 'queue.declare', { queue: 'q' }).flush()
    expect(client.socket.paused).toBe(false)
    expect(client.names()).toEqual(['queue.declare-ok'])
  })
})
