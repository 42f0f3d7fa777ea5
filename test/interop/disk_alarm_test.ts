// The disk alarm with real clients: a fake free disk space source (a test hook of startServer)
// is flipped below diskFreeLimit and back. While it is low, AMQP publishers get
// connection.blocked "low on disk" and are no longer read, MQTT publishers are no longer read,
// HTTP publish answers 503; once space is back everything held arrives.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel } from 'amqplib'
import { amqplibConnect, closeQuietly, consumeN, uniq, waitForDepth, within } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, type TestClient } from '../helpers/mqtt.ts'
import { waitFor } from '../helpers/wait.ts'
import { GUEST_AUTH } from '../http/sse_client.ts'

const LIMIT = 1_000_000
let free = 10 * LIMIT
let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker({ diskFreeLimit: LIMIT }, { diskFree: () => free, diskCheckIntervalMs: 10 })
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  free = 10 * LIMIT
  await closeQuietly(conn)
  await broker?.stop()
})

/** Sets the fake free space and waits until the broker's health check agrees. */
async function setDiskLow(low: boolean): Promise<void> {
  free = low ? LIMIT - 1 : LIMIT * 10
  await waitFor(
    async () => {
      const response = await fetch(`${broker.httpUrl}/api/health/checks/alarms`, { headers: { Authorization: GUEST_AUTH } })
      const body = (await response.json()) as { alarms?: { resource: string }[] }
      return low ? response.status === 503 && body.alarms?.some((a) => a.resource === 'disk') : response.status === 200
    },
    { timeout: 5000, message: `disk alarm ${low ? 'on' : 'off'}` },
  )
}

function publishHttp(routingKey: string, payload: string): Promise<Response> {
  return fetch(`${broker.httpUrl}/api/exchanges/%2F/amq.default/publish`, {
    method: 'POST',
    headers: { Authorization: GUEST_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ properties: {}, routing_key: routingKey, payload, payload_encoding: 'string' }),
  })
}

describe('disk alarm', () => {
  test('an amqplib publisher gets connection.blocked "low on disk", is not read, and is unblocked when space returns', async () => {
    const q = uniq('disk-amqp')
    await ch.assertQueue(q, { durable: false })
    const publisher = await amqplibConnect(broker.amqpUrl)
    try {
      const order: string[] = []
      const blocked = new Promise<string>((resolve) => publisher.conn.on('blocked', (reason: string) => resolve(reason)))
      const unblocked = new Promise<void>((resolve) => publisher.conn.on('unblocked', () => resolve()))
      const pch = await publisher.conn.createChannel()
      await setDiskLow(true)
      // RabbitMQ blocks a connection when it publishes during an alarm: this publish is routed,
      // then the connection is no longer read.
      pch.sendToQueue(q, Buffer.from('first'))
      expect(await within(blocked, 5000, 'connection.blocked')).toBe('low on disk')
      pch.sendToQueue(q, Buffer.from('held-1'))
      pch.sendToQueue(q, Buffer.from('held-2'))
      // A round trip on the publisher's connection is not answered while it is not read.
      const probe = pch.checkQueue(q).then((ok) => {
        order.push('probe')
        return ok
      })
      await waitForDepth(ch, q, 1)
      expect(order).toEqual([])
      order.push('space back')
      await setDiskLow(false)
      await within(unblocked, 5000, 'connection.unblocked')
      expect((await within(probe, 5000, 'checkQueue after unblock')).messageCount).toBe(3)
      expect(order).toEqual(['space back', 'probe'])
      const got = await consumeN(ch, q, 3, { noAck: true })
      expect(got.map((m) => m.content.toString())).toEqual(['first', 'held-1', 'held-2'])
    } finally {
      await setDiskLow(false)
      await closeQuietly(publisher.conn)
      await ch.deleteQueue(q).catch(() => {})
    }
  })

  test('HTTP publish answers 503 with {error, reason} while the disk alarm is on, and works again after', async () => {
    const q = uniq('disk-http')
    await ch.assertQueue(q, { durable: false })
    try {
      await setDiskLow(true)
      const refused = await publishHttp(q, 'refused')
      expect(refused.status).toBe(503)
      const body = (await refused.json()) as { error: string; reason: string }
      expect(body.error).toBe('service_unavailable')
      expect(body.reason).toContain('low on disk')
      await setDiskLow(false)
      const accepted = await publishHttp(q, 'accepted')
      expect(accepted.status).toBe(200)
      expect(await accepted.json()).toEqual({ routed: true })
      const got = await consumeN(ch, q, 1, { noAck: true })
      expect(got.map((m) => m.content.toString())).toEqual(['accepted'])
      expect((await ch.checkQueue(q)).messageCount).toBe(0)
    } finally {
      await setDiskLow(false)
      await ch.deleteQueue(q).catch(() => {})
    }
  })

  test('an MQTT publisher is not read while the disk alarm is on; its held messages arrive after', async () => {
    const q = uniq('disk-mqtt')
    const topic = `disk/${q}`
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, 'amq.topic', `disk.${q}`)
    let publisher: TestClient | undefined
    try {
      publisher = await connectMqtt(broker.mqttUrl)
      await setDiskLow(true)
      // As AMQP: the publish that meets the alarm is routed, then the client is no longer read.
      await publisher.publish(topic, 'first', { qos: 1 })
      const order: string[] = []
      const held = publisher.publish(topic, 'held', { qos: 1 }).then(() => order.push('puback'))
      await waitForDepth(ch, q, 1)
      expect(order).toEqual([])
      order.push('space back')
      await setDiskLow(false)
      await within(held, 5000, 'PUBACK of the held message')
      expect(order).toEqual(['space back', 'puback'])
      const got = await consumeN(ch, q, 2, { noAck: true })
      expect(got.map((m) => m.content.toString())).toEqual(['first', 'held'])
    } finally {
      await setDiskLow(false)
      await endAll(publisher)
      await ch.deleteQueue(q).catch(() => {})
    }
  })
})
