import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, uniq } from '../helpers/amqp.ts'

// RabbitMQ hands connection.update-secret only to auth backends whose state can expire; its
// internal user database cannot, so any new secret is accepted and the connection carries on.
// amqplib's and amqp-client.js's own suites call updateSecret against a default broker.
describe('connection.update-secret', () => {
  let broker: TestBroker
  beforeAll(async () => {
    broker = await startBroker()
  })
  afterAll(async () => {
    await broker.stop()
  })

  test('amqplib: updateSecret resolves and the connection keeps working', async () => {
    const { conn, watch } = await amqplibConnect(broker.amqpUrl)
    try {
      await conn.updateSecret(Buffer.from('new secret'), 'no reason')
      const { ch } = await amqplibChannel(conn)
      const queue = uniq('update-secret')
      await ch.assertQueue(queue, { exclusive: true })
      expect(ch.sendToQueue(queue, Buffer.from('still here'))).toBe(true)
      const { messageCount } = await ch.checkQueue(queue)
      expect(messageCount).toBe(1)
      expect(watch.errors).toEqual([])
    } finally {
      await closeQuietly(conn)
    }
  })

  test('amqp-client: updateSecret resolves', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      await expect(client.updateSecret('foobar', 'no reason')).resolves.toBeUndefined()
      const ch = await client.channel()
      await expect(ch.prefetch(1)).resolves.toBeUndefined()
    } finally {
      await clientCloseQuietly(client)
    }
  })
})
