import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, GetMessage } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConnect,
  bodies,
  closeQuietly,
  consumeN,
  rejectsWithCode,
  uniq,
  waitForDepth,
  within,
} from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

let broker: TestBroker
let conn: ChannelModel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

async function declare(prefix: string, args: Record<string, unknown>): Promise<string> {
  const q = uniq(prefix)
  const ch = await conn.createChannel()
  await ch.assertQueue(q, { durable: false, arguments: args })
  await ch.close()
  return q
}

async function publish(queue: string, messages: { body: string; expiration?: string }[]): Promise<void> {
  const ch = await conn.createConfirmChannel()
  for (const m of messages) ch.sendToQueue(queue, Buffer.from(m.body), m.expiration === undefined ? {} : { expiration: m.expiration })
  await ch.waitForConfirms()
  await ch.close()
}

/**
 * True once the queue is gone. Asks the broker's management view, which (unlike queue.declare
 * or basic.get) does not count as using the queue, so it does not reset x-expires.
 */
async function isDeleted(queue: string): Promise<boolean> {
  return broker.server.broker.management.queue('/', queue) === undefined
}

describe('x-message-ttl', () => {
  test('x-message-ttl expires messages nobody consumed', async () => {
    const q = await declare('queue-ttl', { 'x-message-ttl': 20 })
    await publish(q, [{ body: 'a' }, { body: 'b' }, { body: 'c' }])
    const { ch } = await amqplibChannel(conn)
    await waitForDepth(ch, q, 0, 3000)
    expect(await ch.get(q)).toBe(false)
    await ch.close()
  })

  test('x-message-ttl 0 still delivers to a consumer that is ready', async () => {
    const q = await declare('queue-ttl-zero', { 'x-message-ttl': 0 })
    const { ch } = await amqplibChannel(conn)
    const got = consumeN(ch, q, 1, { noAck: true })
    // consumeN registers the consumer before it resolves the first await; give it a round trip.
    await ch.checkQueue(q)
    await publish(q, [{ body: 'instant' }])
    expect(bodies(await got)).toEqual(['instant'])
    await ch.close()
  })

  test('x-message-ttl 0 drops a message when no consumer is ready', async () => {
    const q = await declare('queue-ttl-zero-idle', { 'x-message-ttl': 0 })
    await publish(q, [{ body: 'gone' }])
    const { ch } = await amqplibChannel(conn)
    await waitForDepth(ch, q, 0, 3000)
    expect(await ch.get(q)).toBe(false)
    await ch.close()
  })

  test('queue.declare with a negative x-message-ttl is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('bad-ttl')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-message-ttl': -1 } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${q}' in vhost '/'`,
    )
  })
})

describe('per-message expiration', () => {
  test('expiration property expires that message only', async () => {
    const q = await declare('msg-ttl', {})
    await publish(q, [{ body: 'short', expiration: '20' }, { body: 'keep' }])
    const { ch } = await amqplibChannel(conn)
    await waitForDepth(ch, q, 1, 3000)
    const msg = (await ch.get(q, { noAck: true })) as GetMessage
    expect(msg.content.toString()).toBe('keep')
    await ch.close()
  })

  test('an expired message behind a live one is never delivered', async () => {
    const q = await declare('msg-ttl-behind', {})
    await publish(q, [{ body: 'm1' }, { body: 'm2', expiration: '0' }, { body: 'm3' }])
    const { ch } = await amqplibChannel(conn)
    const got = await consumeN(ch, q, 2, { noAck: true })
    expect(bodies(got)).toEqual(['m1', 'm3'])
    await waitForDepth(ch, q, 0)
    await ch.close()
  })

  test('the lower of x-message-ttl and expiration applies', async () => {
    const q = await declare('min-ttl', { 'x-message-ttl': 60_000 })
    await publish(q, [{ body: 'short', expiration: '10' }])
    const { ch } = await amqplibChannel(conn)
    await waitForDepth(ch, q, 0, 3000)
    await ch.close()
  })

  test('basic.publish with a non-numeric expiration closes the channel with 406 PRECONDITION_FAILED', async () => {
    const q = await declare('bad-expiration', {})
    const { ch, watch } = await amqplibChannel(conn)
    ch.sendToQueue(q, Buffer.from('x'), { expiration: 'soon' })
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain("PRECONDITION_FAILED - invalid expiration 'soon'")
  })
})

describe('expiry with dead-lettering', () => {
  test('x-message-ttl expiry dead-letters with reason expired', async () => {
    const dlq = await declare('ttl-dlq', {})
    const q = await declare('ttl-src', { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish(q, [{ body: 'late' }])
    const { ch } = await amqplibChannel(conn)
    const [msg] = await consumeN(ch, dlq, 1, { noAck: true })
    expect(msg!.content.toString()).toBe('late')
    const headers = msg!.properties.headers ?? {}
    const deaths = headers['x-death'] as unknown as Record<string, unknown>[]
    expect(deaths).toHaveLength(1)
    expect(deaths[0]).toMatchObject({ count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] })
    expect(deaths[0]!['original-expiration']).toBeUndefined()
    expect(headers['x-first-death-reason']).toBe('expired')
    expect(headers['x-first-death-queue']).toBe(q)
    expect(headers['x-first-death-exchange']).toBe('')
    await ch.close()
  })

  test('per-message expiry dead-letters with original-expiration and no expiration property', async () => {
    const dlq = await declare('msg-ttl-dlq', {})
    const q = await declare('msg-ttl-src', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish(q, [{ body: 'late', expiration: '15' }])
    const { ch } = await amqplibChannel(conn)
    const [msg] = await consumeN(ch, dlq, 1, { noAck: true })
    expect(msg!.properties.expiration).toBeUndefined()
    const deaths = msg!.properties.headers?.['x-death'] as unknown as Record<string, unknown>[]
    expect(deaths[0]).toMatchObject({ reason: 'expired', queue: q, 'original-expiration': '15', count: 1 })
    await ch.close()
  })
})

describe('x-expires', () => {
  test('x-expires deletes a queue that stays unused', async () => {
    const q = await declare('expires', { 'x-expires': 100 })
    await waitFor(() => isDeleted(q), { timeout: 3000, interval: 25, message: `queue ${q} to expire` })
  })

  test('x-expires does not delete a queue that has a consumer', async () => {
    const used = await declare('expires-used', { 'x-expires': 100 })
    const { ch } = await amqplibChannel(conn)
    await ch.consume(used, () => {}, { noAck: true })
    const idle = await declare('expires-idle', { 'x-expires': 100 })
    await waitFor(() => isDeleted(idle), { timeout: 3000, interval: 25, message: `queue ${idle} to expire` })
    // A second idle queue declared now expires at least 100 ms later still.
    const idle2 = await declare('expires-idle-2', { 'x-expires': 100 })
    await waitFor(() => isDeleted(idle2), { timeout: 3000, interval: 25, message: `queue ${idle2} to expire` })
    expect(await isDeleted(used)).toBe(false)
    await ch.close()
  })

  test('x-expires does not dead-letter the messages of the expired queue', async () => {
    const dlq = await declare('expires-dlq', {})
    const q = await declare('expires-with-dlx', { 'x-expires': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish(q, [{ body: 'lost' }])
    await waitFor(() => isDeleted(q), { timeout: 3000, interval: 25, message: `queue ${q} to expire` })
    const { ch } = await amqplibChannel(conn)
    expect((await ch.checkQueue(dlq)).messageCount).toBe(0)
    await ch.close()
  })

  test('queue.declare with x-expires 0 is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('bad-expires')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-expires': 0 } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-expires' for queue '${q}' in vhost '/'`,
    )
  })
})
