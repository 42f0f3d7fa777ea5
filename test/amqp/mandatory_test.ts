import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, Message } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConfirmChannel, amqplibConnect, clientCloseQuietly, clientConnect, clientRejects, closeQuietly, uniq, within } from '../helpers/amqp.ts'
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

describe('basic.publish mandatory', () => {
  test('mandatory publish with no route comes back as basic.return 312 NO_ROUTE', async () => {
    const ch = await conn.createChannel()
    const key = uniq('nowhere')
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve))
    ch.publish('amq.direct', key, Buffer.from('bounce'), {
      mandatory: true,
      contentType: 'text/plain',
      headers: { h: 'v' },
      messageId: 'id-1',
    })
    const msg = await within(returned, 3000, 'basic.return')
    const fields = msg.fields as unknown as { replyCode: number; replyText: string; exchange: string; routingKey: string }
    expect(fields.replyCode).toBe(312)
    expect(fields.replyText).toBe('NO_ROUTE')
    expect(fields.exchange).toBe('amq.direct')
    expect(fields.routingKey).toBe(key)
    expect(msg.content.toString()).toBe('bounce')
    expect(msg.properties.contentType).toBe('text/plain')
    expect(msg.properties.headers?.h).toBe('v')
    expect(msg.properties.messageId).toBe('id-1')
    await ch.close()
  })

  test('mandatory publish to the default exchange and a missing queue is returned', async () => {
    const ch = await conn.createChannel()
    const q = uniq('missing-queue')
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve))
    ch.sendToQueue(q, Buffer.from('x'), { mandatory: true })
    const msg = await within(returned, 3000, 'basic.return')
    expect((msg.fields as unknown as { routingKey: string }).routingKey).toBe(q)
    expect((msg.fields as unknown as { exchange: string }).exchange).toBe('')
    await ch.close()
  })

  test('non-mandatory publish with no route is dropped silently', async () => {
    const ch = await conn.createChannel()
    const returns: Message[] = []
    ch.on('return', (m: Message) => returns.push(m))
    ch.publish('amq.direct', uniq('nowhere'), Buffer.from('dropped'))
    // A synchronous round trip after the publish: a basic.return would have come before its reply.
    await ch.checkExchange('amq.direct')
    expect(returns).toEqual([])
    await ch.close()
  })

  test('mandatory publish that is routed is not returned', async () => {
    const ch = await conn.createChannel()
    const { queue } = await ch.assertQueue('', { exclusive: true })
    const returns: Message[] = []
    ch.on('return', (m: Message) => returns.push(m))
    ch.sendToQueue(queue, Buffer.from('kept'), { mandatory: true })
    expect((await ch.checkQueue(queue)).messageCount).toBe(1)
    expect(returns).toEqual([])
    await ch.close()
  })

  test('basic.return arrives before the publisher confirm of the same message', async () => {
    const { ch } = await amqplibConfirmChannel(conn)
    const order: string[] = []
    ch.on('return', () => order.push('return'))
    ch.on('ack', (f: { deliveryTag: number }) => order.push(`ack ${f.deliveryTag}`))
    ch.publish('amq.direct', uniq('nowhere'), Buffer.from('x'), { mandatory: true })
    await ch.waitForConfirms()
    expect(order).toEqual(['return', 'ack 1'])
    await ch.close()
  })

  test('mandatory publish with no route is returned to amqp-client with 312 NO_ROUTE', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const returned: AMQPMessage[] = []
      ch.onReturn = (m) => {
        returned.push(m)
      }
      const key = uniq('nowhere')
      await ch.basicPublish('amq.direct', key, 'bounce', { contentType: 'text/plain' }, true)
      await waitFor(() => returned.length === 1)
      expect(returned[0]!.replyCode).toBe(312)
      expect(returned[0]!.replyText).toBe('NO_ROUTE')
      expect(returned[0]!.exchange).toBe('amq.direct')
      expect(returned[0]!.routingKey).toBe(key)
      expect(returned[0]!.bodyString()).toBe('bounce')
      expect(returned[0]!.properties.contentType).toBe('text/plain')
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('basic.publish immediate=true is refused with 540 NOT_IMPLEMENTED', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare('', { exclusive: true })
      await ch.basicPublish('', q.name, 'now', {}, false, true)
      await clientRejects(ch.queueDeclare('', { exclusive: true }), 540, 'NOT_IMPLEMENTED - immediate=true')
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
