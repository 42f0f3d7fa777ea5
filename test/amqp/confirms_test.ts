import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConfirmChannel, amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, uniq, within } from '../helpers/amqp.ts'
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

interface ConfirmEvent {
  kind: 'ack' | 'nack'
  deliveryTag: number
  multiple: boolean
}

/** Expands acks/nacks (with `multiple`) into one outcome per publish sequence number. */
function expand(events: ConfirmEvent[]): Map<number, 'ack' | 'nack'> {
  const settled = new Map<number, 'ack' | 'nack'>()
  let highest = 0
  for (const e of events) {
    const from = e.multiple ? highest + 1 : e.deliveryTag
    for (let tag = from; tag <= e.deliveryTag; tag++) {
      if (!settled.has(tag)) settled.set(tag, e.kind)
    }
    highest = Math.max(highest, e.deliveryTag)
  }
  return settled
}

describe('publisher confirms', () => {
  test('confirm.select makes every publish acked with ascending delivery tags', async () => {
    const q = uniq('confirm')
    const { ch } = await amqplibConfirmChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const events: ConfirmEvent[] = []
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => events.push({ kind: 'ack', ...f }))
    ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => events.push({ kind: 'nack', ...f }))
    for (let i = 0; i < 50; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await ch.waitForConfirms()
    const settled = expand(events)
    expect([...settled.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect([...settled.values()].every((k) => k === 'ack')).toBe(true)
    // Confirms arrive in ascending order and never repeat a tag.
    const tags = events.map((e) => e.deliveryTag)
    expect([...tags].sort((a, b) => a - b)).toEqual(tags)
    expect(new Set(tags).size).toBe(tags.length)
    expect((await ch.checkQueue(q)).messageCount).toBe(50)
    await ch.close()
  })

  test('confirm callbacks fire once per publish', async () => {
    const q = uniq('confirm-callbacks')
    const { ch } = await amqplibConfirmChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const results = await Promise.all(
      [0, 1, 2].map(
        (i) =>
          new Promise<string>((resolve) => {
            ch.sendToQueue(q, Buffer.from(`${i}`), {}, (err: unknown) => resolve(err ? 'nack' : 'ack'))
          }),
      ),
    )
    expect(results).toEqual(['ack', 'ack', 'ack'])
    await ch.close()
  })

  test('an unroutable publish is acked too', async () => {
    const { ch } = await amqplibConfirmChannel(conn)
    const outcome = await within(
      new Promise<string>((resolve) => {
        ch.publish('amq.direct', uniq('nobody-bound'), Buffer.from('lost'), {}, (err: unknown) => resolve(err ? 'nack' : 'ack'))
      }),
      3000,
      'the confirm',
    )
    expect(outcome).toBe('ack')
    await ch.close()
  })

  test('a publish routed to several queues is confirmed once', async () => {
    const x = uniq('fanout')
    const { ch } = await amqplibConfirmChannel(conn)
    await ch.assertExchange(x, 'fanout', { durable: false })
    for (let i = 0; i < 3; i++) {
      const { queue } = await ch.assertQueue('', { exclusive: true })
      await ch.bindQueue(queue, x, '')
    }
    const events: ConfirmEvent[] = []
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => events.push({ kind: 'ack', ...f }))
    ch.publish(x, '', Buffer.from('copies'))
    await ch.waitForConfirms()
    expect(events).toEqual([{ kind: 'ack', deliveryTag: 1, multiple: false }])
    await ch.close()
  })

  test('a durable queue confirms persistent messages', async () => {
    const q = uniq('durable-confirm')
    const { ch } = await amqplibConfirmChannel(conn)
    await ch.assertQueue(q, { durable: true })
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`p${i}`), { persistent: true })
    await ch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(10)
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('reject-publish overflow turns confirms into nacks only for the rejected publishes', async () => {
    const q = uniq('nack')
    const { ch } = await amqplibConfirmChannel(conn)
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } })
    const events: ConfirmEvent[] = []
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => events.push({ kind: 'ack', ...f }))
    ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => events.push({ kind: 'nack', ...f }))
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await ch.waitForConfirms().catch(() => {})
    await waitFor(() => expand(events).size === 4)
    expect([...expand(events).entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [1, 'ack'],
      [2, 'ack'],
      [3, 'nack'],
      [4, 'nack'],
    ])
    await ch.close()
  })

  test('confirm.select through amqp-client resolves each publish with its sequence number', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare('', { exclusive: true })
      await ch.confirmSelect()
      const tags = await Promise.all([ch.basicPublish('', q.name, 'a'), ch.basicPublish('', q.name, 'b'), ch.basicPublish('', q.name, 'c')])
      expect(tags).toEqual([1, 2, 3])
      expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(3)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('without confirm.select a publish gets no confirm', async () => {
    const q = uniq('no-confirm')
    const ch = await conn.createChannel()
    await ch.assertQueue(q, { exclusive: true })
    const acks: unknown[] = []
    ch.on('ack', (f: unknown) => acks.push(f))
    ch.sendToQueue(q, Buffer.from('plain'))
    // The queue.declare round trip comes after the publish was processed.
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
    expect(acks).toEqual([])
    await ch.close()
  })
})
