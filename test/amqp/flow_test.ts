import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, uniq, waitForDepth } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

// amqplib cannot send channel.flow; amqp-client can (basicFlow).
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

describe('channel.flow', () => {
  test('channel.flow active=true is answered with flow-ok active=true', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      expect(await ch.basicFlow(true)).toBe(true)
      // The channel stays usable.
      await ch.queueDeclare('', { exclusive: true })
    } finally {
      await clientCloseQuietly(client)
    }
  })

  // RabbitMQ refuses client-sent active=false with 540 NOT_IMPLEMENTED "active=false"; Warren
  // implements the AMQP 0-9-1 meaning (Session.setFlow in src/api.ts): stop deliveries until
  // flow is active again.
  test('channel.flow active=false pauses deliveries until active=true', async () => {
    const q = uniq('flow')
    const setup = await conn.createChannel()
    await setup.assertQueue(q, { durable: false })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const got: AMQPMessage[] = []
      await ch.basicConsume(q, { noAck: true }, (m) => {
        got.push(m)
      })
      expect(await ch.basicFlow(false)).toBe(false)
      const pub = await conn.createConfirmChannel()
      pub.sendToQueue(q, Buffer.from('a'))
      pub.sendToQueue(q, Buffer.from('b'))
      await pub.waitForConfirms()
      // Both stay in the queue while flow is off.
      await waitForDepth(setup, q, 2)
      expect(got).toEqual([])
      expect(await ch.basicFlow(true)).toBe(true)
      await waitFor(() => got.length === 2)
      expect(got.map((m) => m.bodyString())).toEqual(['a', 'b'])
      await pub.close()
    } finally {
      await clientCloseQuietly(client)
      await setup.deleteQueue(q)
      await setup.close()
    }
  })
})
