import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { Connection } from 'rabbitmq-client'
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

describe('clients interoperate through the broker', () => {
  test('amqplib publishes, amqp-client consumes, in order', async () => {
    const q = uniq('lib-to-client')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const cch = await client.channel()
      const got: AMQPMessage[] = []
      await cch.basicConsume(q, { noAck: false }, (m) => {
        got.push(m)
      })
      for (let i = 0; i < 20; i++) ch.sendToQueue(q, Buffer.from(`m${i}`), { headers: { i } })
      await waitFor(() => got.length === 20)
      expect(got.map((m) => m.bodyString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
      expect(got.map((m) => m.properties.headers?.i)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      await got[19]!.ack(true)
    } finally {
      await clientCloseQuietly(client)
    }
    expect((await ch.checkQueue(q)).messageCount).toBe(0)
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('amqp-client publishes, amqplib consumes, in order', async () => {
    const q = uniq('client-to-lib')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const cch = await client.channel()
      await cch.confirmSelect()
      await Promise.all(Array.from({ length: 20 }, (_, i) => cch.basicPublish('', q, `m${i}`, { messageId: `id${i}` })))
    } finally {
      await clientCloseQuietly(client)
    }
    const got = await consumeN(ch, q, 20, { ack: true })
    expect(bodies(got)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    expect(got.map((m) => m.properties.messageId)).toEqual(Array.from({ length: 20 }, (_, i) => `id${i}`))
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('rabbitmq-client publishes and reads back; amqplib sees its messages', async () => {
    const q = uniq('rabbitmq-client')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    const rabbit = new Connection(broker.amqpUrl)
    rabbit.on('error', () => {})
    try {
      const rch = await rabbit.acquire()
      await rch.confirmSelect()
      await rch.basicPublish({ routingKey: q, contentType: 'application/json', headers: { kind: 'json' } }, { hello: 'world' })
      await rch.basicPublish({ routingKey: q }, Buffer.from('raw bytes'))
      const first = await rabbit.basicGet(q)
      expect(first?.body).toEqual({ hello: 'world' })
      expect(first?.contentType).toBe('application/json')
      expect(first?.headers?.kind).toBe('json')
      const [second] = await consumeN(ch, q, 1, { noAck: true })
      expect(second!.content.toString()).toBe('raw bytes')
      ch.sendToQueue(q, Buffer.from('from amqplib'), { contentType: 'text/plain' })
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 1)
      const third = await rabbit.basicGet({ queue: q, noAck: true })
      expect(third?.body).toBe('from amqplib')
      await rch.close()
    } finally {
      await rabbit.close()
    }
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('an amqplib consumer and an amqp-client consumer share one queue round-robin', async () => {
    const q = uniq('shared')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const cch = await client.channel()
      const viaClient: string[] = []
      const viaLib: string[] = []
      await cch.basicConsume(q, { noAck: true }, (m) => {
        viaClient.push(m.bodyString() ?? '')
      })
      const { ch: lch } = await amqplibChannel(conn)
      await lch.consume(q, (m) => m && viaLib.push(m.content.toString()), { noAck: true })
      const pub = await conn.createConfirmChannel()
      for (let i = 0; i < 10; i++) pub.sendToQueue(q, Buffer.from(`${i}`))
      await pub.waitForConfirms()
      await waitFor(() => viaClient.length + viaLib.length === 10)
      expect(viaClient.length).toBe(5)
      expect(viaLib.length).toBe(5)
      await pub.close()
      await lch.close()
    } finally {
      await clientCloseQuietly(client)
    }
    await ch.deleteQueue(q)
    await ch.close()
  })
})
