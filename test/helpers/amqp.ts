/**
 * Client-side helpers for the black-box AMQP tests: unique names, error bookkeeping for amqplib
 * (an 'error' event with no listener throws), bounded waits and small consume/round-trip helpers.
 * Nothing here imports the broker: the tests talk to it only over TCP.
 */
import { expect } from 'bun:test'
import type { EventEmitter } from 'node:events'
import amqp from 'amqplib'
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib'
import { AMQPClient } from '@cloudamqp/amqp-client'

let counter = 0

/** A queue or exchange name that no other test in this run uses. */
export function uniq(prefix: string): string {
  counter += 1
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

/** An amqplib error as the library builds it from a close frame. */
export interface AmqpError extends Error {
  code?: number
  classId?: number
  methodId?: number
}

/** What happened to an amqplib connection or channel: every 'error' event, and the close. */
export interface Watch {
  readonly errors: AmqpError[]
  /** Settles on 'close' with the close error (connections pass it; channels emit 'error' first). */
  readonly closed: Promise<AmqpError | undefined>
  isClosed(): boolean
}

/** Records 'error' events (so they never throw) and the 'close' of an amqplib emitter. */
export function watch(emitter: EventEmitter): Watch {
  const errors: AmqpError[] = []
  let isClosed = false
  emitter.on('error', (error: AmqpError) => errors.push(error))
  const closed = new Promise<AmqpError | undefined>((resolve) => {
    emitter.once('close', (error?: AmqpError) => {
      isClosed = true
      resolve(error ?? errors.at(-1))
    })
  })
  return { errors, closed, isClosed: () => isClosed }
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** An amqplib connection plus its watch. */
export interface Conn {
  conn: ChannelModel
  watch: Watch
}

export async function amqplibConnect(url: string, socketOptions: object = {}): Promise<Conn> {
  const conn = await amqp.connect(url, socketOptions)
  return { conn, watch: watch(conn) }
}

export interface Chan<C extends Channel = Channel> {
  ch: C
  watch: Watch
}

export async function amqplibChannel(conn: ChannelModel): Promise<Chan> {
  const ch = await conn.createChannel()
  return { ch, watch: watch(ch) }
}

export async function amqplibConfirmChannel(conn: ChannelModel): Promise<Chan<ConfirmChannel>> {
  const ch = await conn.createConfirmChannel()
  return { ch, watch: watch(ch) }
}

/** Closes an amqplib connection, ignoring "already closed". */
export async function closeQuietly(conn: { close(): Promise<unknown> } | undefined): Promise<void> {
  if (!conn) return
  try {
    await conn.close()
  } catch {
    // already closed by the server or by the test
  }
}

/**
 * Asserts that `promise` rejects with an amqplib error carrying `code` (and `text` inside the
 * message, which amqplib builds as `... 404 (NOT-FOUND) with message "NOT_FOUND - ..."`).
 */
export async function rejectsWithCode(promise: Promise<unknown>, code: number, text?: string): Promise<AmqpError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with code ${code}, but the operation succeeded`)
    },
    (e: AmqpError) => e,
  )
  expect(error.code).toBe(code)
  if (text !== undefined) expect(error.message).toContain(text)
  return error
}

/**
 * Asserts that `promise` rejects with an amqp-client AMQPError whose message carries the reply
 * text and code, as amqp-client words it: `channel 1 closed: NOT_FOUND - ... (404)`.
 */
export async function clientRejects(promise: Promise<unknown>, code: number, text?: string): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with code ${code}, but the operation succeeded`)
    },
    (e: Error) => e,
  )
  expect(error.message).toContain(`(${code})`)
  if (text !== undefined) expect(error.message).toContain(text)
  return error
}

/** Connects an amqp-client client (its default frameMax is 8192, so it exercises splitting). */
export async function clientConnect(url: string): Promise<AMQPClient> {
  const client = new AMQPClient(url)
  // A server-closed channel calls onerror; the tests assert on the rejected promises instead.
  client.onerror = () => {}
  await client.connect()
  return client
}

export async function clientCloseQuietly(client: AMQPClient | undefined): Promise<void> {
  if (!client || client.closed) return
  try {
    await client.close()
  } catch {
    // closed by the server already
  }
}

/**
 * Consumes from `queue` until `count` messages arrived, then cancels the consumer. With `ack`
 * every message is acked as it arrives; otherwise (and without noAck) they stay unacked.
 */
export async function consumeN(
  ch: Channel,
  queue: string,
  count: number,
  opts: Options.Consume & { ack?: boolean; timeout?: number } = {},
): Promise<ConsumeMessage[]> {
  const messages: ConsumeMessage[] = []
  let done: () => void = () => {}
  const enough = new Promise<void>((resolve) => {
    done = resolve
  })
  const { consumerTag } = await ch.consume(
    queue,
    (msg) => {
      if (msg === null) return
      messages.push(msg)
      if (opts.ack) ch.ack(msg)
      if (messages.length === count) done()
    },
    opts,
  )
  if (count > 0) await within(enough, opts.timeout ?? 5000, `${count} messages from ${queue} (got ${messages.length})`)
  await ch.cancel(consumerTag)
  return messages
}

/** Polls queue.declare passive until the queue holds `count` messages. */
export async function waitForDepth(ch: Channel, queue: string, count: number, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    const { messageCount } = await ch.checkQueue(queue)
    if (messageCount === count) return
    if (Date.now() > deadline) throw new Error(`queue ${queue} holds ${messageCount} messages, expected ${count}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * Proves the broker still serves a well-behaved client: a fresh amqplib connection declares a
 * queue, publishes, consumes the message back and closes.
 */
export async function assertBrokerServes(url: string): Promise<void> {
  const { conn } = await amqplibConnect(url)
  try {
    const ch = await conn.createChannel()
    const { queue } = await ch.assertQueue('', { exclusive: true })
    ch.sendToQueue(queue, Buffer.from('still alive'))
    const [msg] = await consumeN(ch, queue, 1, { noAck: true })
    expect(msg?.content.toString()).toBe('still alive')
  } finally {
    await closeQuietly(conn)
  }
}

/** The message bodies as strings, in order. */
export function bodies(messages: readonly { content: Buffer }[]): string[] {
  return messages.map((m) => m.content.toString())
}
