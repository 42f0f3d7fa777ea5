import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, consumeN, uniq, waitForDepth } from '../helpers/amqp.ts'
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

async function declare(name: string, args: Record<string, unknown> = {}): Promise<string> {
  const ch = await conn.createChannel()
  await ch.assertQueue(name, { durable: false, arguments: args })
  await ch.close()
  return name
}

async function publish(exchange: string, routingKey: string, body: string, options: object = {}): Promise<void> {
  const ch = await conn.createConfirmChannel()
  ch.publish(exchange, routingKey, Buffer.from(body), options)
  await ch.waitForConfirms()
  await ch.close()
}

/** Takes one message from `queue` and rejects it without requeue. */
async function rejectOne(queue: string, how: 'reject' | 'nack' = 'reject'): Promise<ConsumeMessage> {
  const { ch } = await amqplibChannel(conn)
  const [msg] = await consumeN(ch, queue, 1)
  if (how === 'reject') ch.reject(msg!, false)
  else ch.nack(msg!, false, false)
  await ch.close()
  return msg!
}

type Death = Record<string, unknown>

function deathsOf(msg: ConsumeMessage): Death[] {
  return msg.properties.headers?.['x-death'] as unknown as Death[]
}

/** amqplib decodes an AMQP timestamp field as { '!': 'timestamp', value: seconds }. */
function timestampSeconds(value: unknown): number {
  const v = value as { '!': string; value: number }
  expect(v['!']).toBe('timestamp')
  return v.value
}

describe('dead-lettering on reject', () => {
  test('basic.reject requeue=false dead-letters to x-dead-letter-exchange with the original routing key', async () => {
    const dlx = uniq('dlx')
    const q = uniq('src')
    const dlq = uniq('dlq')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(dlx, 'direct', { durable: false })
    await declare(dlq)
    await ch.bindQueue(dlq, dlx, q)
    await declare(q, { 'x-dead-letter-exchange': dlx })
    await publish('', q, 'payload', { headers: { custom: 'kept' }, correlationId: 'c-1', contentType: 'text/plain' })
    await rejectOne(q)
    const [dead] = await consumeN(ch, dlq, 1, { noAck: true })
    expect(dead!.content.toString()).toBe('payload')
    expect(dead!.fields.exchange).toBe(dlx)
    expect(dead!.fields.routingKey).toBe(q)
    expect(dead!.fields.redelivered).toBe(false)
    expect(dead!.properties.correlationId).toBe('c-1')
    expect(dead!.properties.contentType).toBe('text/plain')
    expect(dead!.properties.headers?.custom).toBe('kept')
    await waitForDepth(ch, q, 0)
    await ch.close()
  })

  test('x-dead-letter-routing-key replaces the routing key', async () => {
    const q = uniq('src')
    const dlq = uniq('dlq')
    await declare(dlq)
    await declare(q, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish('', q, 'rerouted')
    await rejectOne(q, 'nack')
    const { ch } = await amqplibChannel(conn)
    const [dead] = await consumeN(ch, dlq, 1, { noAck: true })
    expect(dead!.content.toString()).toBe('rerouted')
    expect(dead!.fields.exchange).toBe('')
    expect(dead!.fields.routingKey).toBe(dlq)
    await ch.close()
  })

  test('x-death is written exactly as RabbitMQ writes it', async () => {
    const dlx = uniq('dlx')
    const q = uniq('src')
    const dlq = uniq('dlq')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    await declare(dlq)
    await ch.bindQueue(dlq, dlx, '')
    await declare(q, { 'x-dead-letter-exchange': dlx })
    await ch.bindQueue(q, 'amq.direct', 'orders')
    const before = Math.floor(Date.now() / 1000)
    await publish('amq.direct', 'orders', 'x')
    await rejectOne(q)
    const [dead] = await consumeN(ch, dlq, 1, { noAck: true })
    const headers = dead!.properties.headers ?? {}
    const deaths = deathsOf(dead!)
    expect(Array.isArray(deaths)).toBe(true)
    expect(deaths).toHaveLength(1)
    const death = deaths[0]!
    expect(Object.keys(death).sort()).toEqual(['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time'])
    expect(death.count).toBe(1)
    expect(death.reason).toBe('rejected')
    expect(death.queue).toBe(q)
    expect(death.exchange).toBe('amq.direct')
    expect(death['routing-keys']).toEqual(['orders'])
    const time = timestampSeconds(death.time)
    expect(time).toBeGreaterThanOrEqual(before - 1)
    expect(time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1)
    expect(headers['x-first-death-exchange']).toBe('amq.direct')
    expect(headers['x-first-death-queue']).toBe(q)
    expect(headers['x-first-death-reason']).toBe('rejected')
    expect(headers['x-last-death-exchange']).toBe('amq.direct')
    expect(headers['x-last-death-queue']).toBe(q)
    expect(headers['x-last-death-reason']).toBe('rejected')
    await ch.close()
  })

  test('x-death as amqp-client decodes it: long count, timestamp time, array of routing keys', async () => {
    const q = uniq('src')
    const dlq = uniq('dlq')
    await declare(dlq)
    await declare(q, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish('', q, 'x')
    await rejectOne(q)
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const got: AMQPMessage[] = []
      await ch.basicConsume(dlq, { noAck: true }, (m) => {
        got.push(m)
      })
      await waitFor(() => got.length === 1)
      const deaths = got[0]!.properties.headers?.['x-death'] as unknown as Record<string, unknown>[]
      expect(deaths).toHaveLength(1)
      expect(deaths[0]!.count).toBe(1)
      expect(deaths[0]!.reason).toBe('rejected')
      expect(deaths[0]!.queue).toBe(q)
      expect(deaths[0]!.exchange).toBe('')
      expect(deaths[0]!['routing-keys']).toEqual([q])
      expect(deaths[0]!.time).toBeInstanceOf(Date)
      expect(Math.abs((deaths[0]!.time as Date).getTime() - Date.now())).toBeLessThan(60_000)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('x-death count increments and entries move to the front on every cycle', async () => {
    const q1 = uniq('cycle-work')
    const q2 = uniq('cycle-retry')
    await declare(q1, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 })
    await declare(q2, { 'x-message-ttl': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1 })
    await publish('', q1, 'retry-me')
    const first = await rejectOne(q1)
    expect(first.properties.headers?.['x-death']).toBeUndefined()

    const second = await rejectOne(q1)
    expect(deathsOf(second).map((d) => [d.queue, d.reason, d.count])).toEqual([
      [q2, 'expired', 1],
      [q1, 'rejected', 1],
    ])
    expect(deathsOf(second).map((d) => d['routing-keys'])).toEqual([[q2], [q1]])
    expect(second.properties.headers?.['x-first-death-queue']).toBe(q1)
    expect(second.properties.headers?.['x-first-death-reason']).toBe('rejected')
    expect(second.properties.headers?.['x-last-death-queue']).toBe(q2)
    expect(second.properties.headers?.['x-last-death-reason']).toBe('expired')

    const { ch } = await amqplibChannel(conn)
    const [third] = await consumeN(ch, q1, 1)
    expect(deathsOf(third!).map((d) => [d.queue, d.reason, d.count])).toEqual([
      [q2, 'expired', 2],
      [q1, 'rejected', 2],
    ])
    // The first death never changes.
    expect(third!.properties.headers?.['x-first-death-queue']).toBe(q1)
    expect(third!.properties.headers?.['x-first-death-reason']).toBe('rejected')
    ch.ack(third!)
    await ch.close()
  })

  test('basic.nack multiple requeue=false dead-letters every delivery up to the tag, in order', async () => {
    const q = uniq('src')
    const dlq = uniq('dlq')
    await declare(dlq)
    await declare(q, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    const pub = await conn.createConfirmChannel()
    for (const b of ['a', 'b', 'c', 'd']) pub.sendToQueue(q, Buffer.from(b))
    await pub.waitForConfirms()
    await pub.close()
    const { ch } = await amqplibChannel(conn)
    await ch.prefetch(4)
    const got: ConsumeMessage[] = []
    await ch.consume(q, (m) => m && got.push(m))
    await waitFor(() => got.length === 4)
    ch.nack(got[2]!, true, false)
    const dead = await consumeN(ch, dlq, 3, { noAck: true })
    expect(dead.map((m) => m.content.toString())).toEqual(['a', 'b', 'c'])
    expect(dead.map((m) => deathsOf(m)[0]!.reason)).toEqual(['rejected', 'rejected', 'rejected'])
    ch.ack(got[3]!)
    await waitForDepth(ch, q, 0)
    await ch.close()
  })

  test('dead-lettering to a missing exchange drops the message', async () => {
    const q = uniq('src')
    await declare(q, { 'x-dead-letter-exchange': uniq('no-such-dlx') })
    await publish('', q, 'lost')
    await rejectOne(q)
    const { ch } = await amqplibChannel(conn)
    await waitForDepth(ch, q, 0)
    await ch.close()
  })

  test('basic.reject requeue=true does not dead-letter', async () => {
    const q = uniq('src')
    const dlq = uniq('dlq')
    await declare(dlq)
    await declare(q, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    await publish('', q, 'back')
    const { ch } = await amqplibChannel(conn)
    const [msg] = await consumeN(ch, q, 1)
    ch.reject(msg!, true)
    await waitForDepth(ch, q, 1)
    expect((await ch.checkQueue(dlq)).messageCount).toBe(0)
    await ch.close()
  })

  test('dead-lettering through a fanout DLX reaches every bound queue', async () => {
    const dlx = uniq('dlx-fanout')
    const q = uniq('src')
    const a = uniq('dlq-a')
    const b = uniq('dlq-b')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    await declare(a)
    await declare(b)
    await ch.bindQueue(a, dlx, '')
    await ch.bindQueue(b, dlx, '')
    await declare(q, { 'x-dead-letter-exchange': dlx })
    await publish('', q, 'copy')
    await rejectOne(q)
    await waitForDepth(ch, a, 1)
    await waitForDepth(ch, b, 1)
    await ch.close()
  })
})
