import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, bodies, clientCloseQuietly, clientConnect, closeQuietly, consumeN, uniq } from '../helpers/amqp.ts'
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

async function publish(queue: string, messages: [string, number | undefined][]): Promise<void> {
  const ch = await conn.createConfirmChannel()
  for (const [body, priority] of messages) ch.sendToQueue(queue, Buffer.from(body), priority === undefined ? {} : { priority })
  await ch.waitForConfirms()
  await ch.close()
}

describe('x-max-priority', () => {
  test('priority queue delivers higher priorities first, FIFO within a priority', async () => {
    const q = await declare('prio', { 'x-max-priority': 10 })
    await publish(q, [
      ['p1-a', 1],
      ['p5-a', 5],
      ['none', undefined],
      ['p9', 9],
      ['p5-b', 5],
      ['p0', 0],
      ['p1-b', 1],
    ])
    const { ch } = await amqplibChannel(conn)
    const got = await consumeN(ch, q, 7, { noAck: true })
    expect(bodies(got)).toEqual(['p9', 'p5-a', 'p5-b', 'p1-a', 'p1-b', 'none', 'p0'])
    expect(got.map((m) => m.properties.priority)).toEqual([9, 5, 5, 1, 1, undefined, 0])
    await ch.close()
  })

  test('priorities above x-max-priority count as x-max-priority', async () => {
    const q = await declare('prio-cap', { 'x-max-priority': 3 })
    await publish(q, [
      ['p3', 3],
      ['p200', 200],
      ['p1', 1],
      ['p4', 4],
    ])
    const { ch } = await amqplibChannel(conn)
    const got = await consumeN(ch, q, 4, { noAck: true })
    expect(bodies(got)).toEqual(['p3', 'p200', 'p4', 'p1'])
    // The property itself is delivered unchanged.
    expect(got.map((m) => m.properties.priority)).toEqual([3, 200, 4, 1])
    await ch.close()
  })

  test('a queue without x-max-priority ignores the priority property', async () => {
    const q = await declare('no-prio', {})
    await publish(q, [
      ['low', 1],
      ['high', 9],
      ['mid', 5],
    ])
    const { ch } = await amqplibChannel(conn)
    expect(bodies(await consumeN(ch, q, 3, { noAck: true }))).toEqual(['low', 'high', 'mid'])
    await ch.close()
  })

  test('requeued messages go back to their priority level', async () => {
    const q = await declare('prio-requeue', { 'x-max-priority': 5 })
    await publish(q, [
      ['high', 5],
      ['low-1', 1],
      ['low-2', 1],
    ])
    const { ch } = await amqplibChannel(conn)
    await ch.prefetch(1)
    const [high] = await consumeN(ch, q, 1)
    expect(high!.content.toString()).toBe('high')
    ch.nack(high!, false, true)
    const again = await consumeN(ch, q, 3, { noAck: true })
    expect(bodies(again)).toEqual(['high', 'low-1', 'low-2'])
    expect(again[0]!.fields.redelivered).toBe(true)
    await ch.close()
  })

  test('basic.get honours priorities', async () => {
    const q = await declare('prio-get', { 'x-max-priority': 10 })
    await publish(q, [
      ['a', 2],
      ['b', 7],
    ])
    const { ch } = await amqplibChannel(conn)
    const first = await ch.get(q, { noAck: true })
    expect(first && first.content.toString()).toBe('b')
    const second = await ch.get(q, { noAck: true })
    expect(second && second.content.toString()).toBe('a')
    await ch.close()
  })

  test('priority queue through amqp-client', async () => {
    const q = await declare('prio-client', { 'x-max-priority': 10 })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      await ch.confirmSelect()
      await ch.basicPublish('', q, 'low', { priority: 1 })
      await ch.basicPublish('', q, 'high', { priority: 8 })
      const got: AMQPMessage[] = []
      await ch.basicConsume(q, { noAck: true }, (m) => {
        got.push(m)
      })
      await waitFor(() => got.length === 2)
      expect(got.map((m) => m.bodyString())).toEqual(['high', 'low'])
      expect(got.map((m) => m.properties.priority)).toEqual([8, 1])
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
