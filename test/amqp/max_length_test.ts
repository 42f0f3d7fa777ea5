import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConfirmChannel,
  amqplibConnect,
  bodies,
  clientCloseQuietly,
  clientConnect,
  closeQuietly,
  consumeN,
  rejectsWithCode,
  uniq,
  waitForDepth,
} from '../helpers/amqp.ts'

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

/** Publishes with confirms; returns 'ack' or 'nack' per message, in publish order. */
async function publishConfirmed(queue: string, messages: string[]): Promise<('ack' | 'nack')[]> {
  const { ch } = await amqplibConfirmChannel(conn)
  const outcomes = messages.map(
    (m) =>
      new Promise<'ack' | 'nack'>((resolve) => {
        ch.sendToQueue(queue, Buffer.from(m), {}, (err: unknown) => resolve(err ? 'nack' : 'ack'))
      }),
  )
  const result = await Promise.all(outcomes)
  await ch.close()
  return result
}

async function drain(queue: string, count: number): Promise<string[]> {
  const { ch } = await amqplibChannel(conn)
  const got = await consumeN(ch, queue, count, { noAck: true })
  await waitForDepth(ch, queue, 0)
  await ch.close()
  return bodies(got)
}

describe('x-max-length', () => {
  test('x-max-length drop-head drops the oldest messages', async () => {
    const q = await declare('max-len', { 'x-max-length': 3 })
    expect(await publishConfirmed(q, ['m0', 'm1', 'm2', 'm3', 'm4'])).toEqual(['ack', 'ack', 'ack', 'ack', 'ack'])
    expect(await drain(q, 3)).toEqual(['m2', 'm3', 'm4'])
  })

  test('x-max-length drop-head dead-letters the dropped messages with reason maxlen', async () => {
    const dlq = await declare('max-len-dlq', {})
    const q = await declare('max-len-dlx', {
      'x-max-length': 2,
      'x-overflow': 'drop-head',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': dlq,
    })
    await publishConfirmed(q, ['m0', 'm1', 'm2', 'm3'])
    const { ch } = await amqplibChannel(conn)
    const dead = await consumeN(ch, dlq, 2, { noAck: true })
    expect(bodies(dead)).toEqual(['m0', 'm1'])
    const death = (dead[0]!.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]!
    expect(death).toMatchObject({ reason: 'maxlen', queue: q, count: 1, exchange: '', 'routing-keys': [q] })
    expect(dead[0]!.properties.headers?.['x-first-death-reason']).toBe('maxlen')
    await ch.close()
    expect(await drain(q, 2)).toEqual(['m2', 'm3'])
  })

  test('x-max-length does not count unacked messages', async () => {
    const q = await declare('max-len-unacked', { 'x-max-length': 1 })
    await publishConfirmed(q, ['m0'])
    const { ch } = await amqplibChannel(conn)
    const [held] = await consumeN(ch, q, 1)
    // m0 is out for delivery; the queue may hold one more ready message.
    await publishConfirmed(q, ['m1', 'm2'])
    await waitForDepth(ch, q, 1)
    ch.ack(held!)
    await ch.close()
    expect(await drain(q, 1)).toEqual(['m2'])
  })

  test('x-max-length-bytes drop-head keeps the newest bodies that fit', async () => {
    const q = await declare('max-bytes', { 'x-max-length-bytes': 25 })
    await publishConfirmed(q, ['0123456789', 'abcdefghij', 'ABCDEFGHIJ'])
    expect(await drain(q, 2)).toEqual(['abcdefghij', 'ABCDEFGHIJ'])
  })

  test('x-max-length-bytes counts body bytes only', async () => {
    const q = await declare('max-bytes-exact', { 'x-max-length-bytes': 20 })
    await publishConfirmed(q, ['0123456789', 'abcdefghij'])
    expect(await drain(q, 2)).toEqual(['0123456789', 'abcdefghij'])
  })
})

describe('x-overflow reject-publish', () => {
  test('x-overflow reject-publish nacks publishes over the limit and keeps the oldest', async () => {
    const q = await declare('reject-publish', { 'x-max-length': 2, 'x-overflow': 'reject-publish' })
    expect(await publishConfirmed(q, ['m0', 'm1', 'm2', 'm3'])).toEqual(['ack', 'ack', 'nack', 'nack'])
    expect(await drain(q, 2)).toEqual(['m0', 'm1'])
  })

  test('x-overflow reject-publish accepts again once there is room', async () => {
    const q = await declare('reject-publish-room', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
    expect(await publishConfirmed(q, ['m0', 'm1'])).toEqual(['ack', 'nack'])
    expect(await drain(q, 1)).toEqual(['m0'])
    expect(await publishConfirmed(q, ['m2'])).toEqual(['ack'])
    expect(await drain(q, 1)).toEqual(['m2'])
  })

  test('x-overflow reject-publish with x-max-length-bytes nacks what does not fit', async () => {
    const q = await declare('reject-publish-bytes', { 'x-max-length-bytes': 15, 'x-overflow': 'reject-publish' })
    expect(await publishConfirmed(q, ['0123456789', 'abcdefghij'])).toEqual(['ack', 'nack'])
    expect(await drain(q, 1)).toEqual(['0123456789'])
  })

  test('x-overflow reject-publish does not dead-letter the rejected message', async () => {
    const dlq = await declare('reject-publish-no-dlq', {})
    const q = await declare('reject-publish-dlx-arg', {
      'x-max-length': 1,
      'x-overflow': 'reject-publish',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': dlq,
    })
    expect(await publishConfirmed(q, ['m0', 'm1'])).toEqual(['ack', 'nack'])
    const { ch } = await amqplibChannel(conn)
    expect((await ch.checkQueue(dlq)).messageCount).toBe(0)
    await ch.close()
  })

  test('x-overflow reject-publish-dlx nacks and dead-letters the rejected message', async () => {
    const dlq = await declare('reject-publish-dlx-dlq', {})
    const q = await declare('reject-publish-dlx', {
      'x-max-length': 1,
      'x-overflow': 'reject-publish-dlx',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': dlq,
    })
    expect(await publishConfirmed(q, ['m0', 'm1'])).toEqual(['ack', 'nack'])
    const { ch } = await amqplibChannel(conn)
    const [dead] = await consumeN(ch, dlq, 1, { noAck: true })
    expect(dead!.content.toString()).toBe('m1')
    const death = (dead!.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]!
    expect(death).toMatchObject({ reason: 'maxlen', queue: q, count: 1 })
    await ch.close()
    expect(await drain(q, 1)).toEqual(['m0'])
  })

  test('x-overflow reject-publish nack reaches amqp-client as a rejected publish', async () => {
    const q = await declare('reject-publish-client', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await ch.confirmSelect()
      expect(await ch.basicPublish('', q, 'm0')).toBe(1)
      const second = await ch.basicPublish('', q, 'm1').then(
        () => 'ack',
        (e: Error) => e.message,
      )
      expect(second).toBe('Message rejected')
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('queue.declare with an unknown x-overflow is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('bad-overflow')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-max-length': 1, 'x-overflow': 'drop-tail' } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '${q}' in vhost '/'`,
    )
  })

  test('queue.declare with a negative x-max-length is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('bad-max-length')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue(q, { arguments: { 'x-max-length': -1 } }),
      406,
      `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/'`,
    )
  })
})
