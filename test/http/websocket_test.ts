// MQTT and AMQP 0-9-1 over WebSocket with real clients: mqtt.js `ws://…/mqtt` and
// @cloudamqp/amqp-client's AMQPWebSocketClient at `/amqp`, through the same adapters as TCP,
// so messages cross between the WebSocket and TCP sides of both protocols.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { AMQPWebSocketClient, type AMQPMessage } from '@cloudamqp/amqp-client'
import type { Channel, ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConfirmChannel, amqplibConnect, closeQuietly, consumeN, uniq } from '../helpers/amqp.ts'
import { VERSIONS, connectMqtt, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import { CONNACK, PUBLISH, SUBACK, connectPacket, subscribePacket } from '../helpers/raw_mqtt.ts'
import { RawWebSocket } from '../helpers/raw_ws.ts'
import { waitFor } from '../helpers/wait.ts'

let broker: TestBroker
let wsMqtt: string
let wsAmqp: string
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  wsMqtt = `ws://127.0.0.1:${broker.httpPort}/mqtt`
  wsAmqp = `ws://127.0.0.1:${broker.httpPort}/amqp`
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

async function endAll(...clients: TestClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => {})))
}

/** Opens a raw WebSocket and resolves once open (or rejects on error/close). */
function openWebSocket(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols)
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => resolve(ws)
    ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`))
  })
}

function closeEvent(ws: WebSocket): Promise<CloseEvent> {
  return new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }))
}

async function amqpWebSocket(): Promise<{ client: AMQPWebSocketClient; close(): Promise<void> }> {
  const client = new AMQPWebSocketClient(wsAmqp, '/', 'guest', 'guest')
  await client.connect()
  return { client, close: () => client.close().catch(() => {}) }
}

describe('MQTT over WebSocket (/mqtt)', () => {
  test('the server answers with the "mqtt" subprotocol', async () => {
    for (const offered of [['mqtt'], ['mqttv3.1', 'mqtt']]) {
      const ws = await openWebSocket(wsMqtt, offered)
      expect(ws.protocol).toBe('mqtt')
      const closed = closeEvent(ws)
      ws.close()
      await closed
    }
  })

  for (const version of VERSIONS) {
    test(`mqtt.js ${version === 5 ? '5.0' : '3.1.1'} over ws:// publishes and subscribes at QoS 0 and 1`, async () => {
      const topic = `${uniqueId('ws')}/t`
      const sub = await connectMqtt(wsMqtt, { version })
      const pub = await connectMqtt(wsMqtt, { version })
      try {
        await sub.subscribe(topic, { qos: 1 })
        await pub.publish(topic, 'qos0', { qos: 0 })
        await pub.publish(topic, 'qos1', { qos: 1 })
        const got = await sub.waitMessages(2, topic)
        expect(got.map((m) => m.text).sort()).toEqual(['qos0', 'qos1'])
        expect(got.find((m) => m.text === 'qos1')?.packet.qos).toBe(1)
      } finally {
        await endAll(sub, pub)
      }
    })
  }

  test('a 1 MiB payload crosses intact both ways', async () => {
    const topic = `${uniqueId('ws-big')}/t`
    const payload: Buffer = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
    const sub = await connectMqtt(wsMqtt)
    const pub = await connectMqtt(wsMqtt)
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, payload, { qos: 1 })
      const [m] = await sub.waitMessages(1, topic)
      expect(Buffer.compare(m!.payload, payload)).toBe(0)
    } finally {
      await endAll(sub, pub)
    }
  })

  test('mqtt.js over ws:// -> AMQP consumer over TCP, and AMQP -> mqtt.js over ws://', async () => {
    const root = uniqueId('ws-x')
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(queue, 'amq.topic', `${root}.up`)
    const device = await connectMqtt(wsMqtt)
    try {
      await device.subscribe(`${root}/down`, { qos: 1 })
      await device.publish(`${root}/up`, 'reading 21.5', { qos: 1 })
      const [message] = await consumeN(ch, queue, 1, { noAck: true })
      expect(message?.fields.routingKey).toBe(`${root}.up`)
      expect(message?.content.toString()).toBe('reading 21.5')
      ch.publish('amq.topic', `${root}.down`, Buffer.from('set 20'))
      expect((await device.waitText('set 20')).topic).toBe(`${root}/down`)
    } finally {
      await endAll(device)
    }
  })

  test('MQTT over WebSocket and over TCP share one broker: ws subscriber, TCP publisher', async () => {
    const topic = `${uniqueId('ws-tcp')}/t`
    const sub = await connectMqtt(wsMqtt)
    const pub = await connectMqtt(broker.mqttUrl)
    try {
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'from tcp', { qos: 1 })
      await sub.waitText('from tcp')
    } finally {
      await endAll(sub, pub)
    }
  })

  test('a WebSocket dropped without DISCONNECT publishes the will', async () => {
    const topic = `${uniqueId('ws-will')}/gone`
    const watcher = await connectMqtt(wsMqtt)
    const device = await connectMqtt(wsMqtt, { will: { topic, payload: Buffer.from('offline'), qos: 1, retain: false } })
    try {
      await watcher.subscribe(topic, { qos: 1 })
      device.client.stream.destroy()
      await watcher.waitText('offline')
    } finally {
      await endAll(watcher, device)
    }
  })

  test('a text frame closes the WebSocket with 1003 (MQTT is binary only)', async () => {
    const ws = await openWebSocket(wsMqtt, ['mqtt'])
    const closed = closeEvent(ws)
    ws.send('not mqtt')
    expect((await closed).code).toBe(1003)
  })
})

/** Counts MQTT packets by type in a byte stream that arrives in arbitrary pieces. */
class PacketCounter {
  readonly counts = new Map<number, number>()
  #rest: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): void {
    let buf: Buffer = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk])
    // Each pass consumes one whole packet; it stops at the first incomplete one.
    for (;;) {
      let length = 0
      let multiplier = 1
      let offset = 1
      for (; offset < 5 && offset < buf.length; offset++) {
        length += (buf[offset]! & 0x7f) * multiplier
        multiplier *= 128
        if ((buf[offset]! & 0x80) === 0) break
      }
      if (offset >= buf.length || buf.length < offset + 1 + length) break
      const type = buf[0]! >> 4
      this.counts.set(type, (this.counts.get(type) ?? 0) + 1)
      buf = buf.subarray(offset + 1 + length)
    }
    this.#rest = buf
  }

  count(type: number): number {
    return this.counts.get(type) ?? 0
  }
}

describe('WebSocket backpressure', () => {
  test('deliveries stop while a WebSocket client does not read, and all arrive once it does', async () => {
    const clientId = uniqueId('wsbp')
    const count = 600
    const body = Buffer.alloc(64 * 1024, 7)
    const raw = await RawWebSocket.open(broker.httpPort, '/mqtt', 'mqtt')
    const packets = new PacketCounter()
    raw.onBinary((payload) => packets.push(payload))
    try {
      expect(raw.handshake).toMatch(/sec-websocket-protocol: mqtt/i)
      raw.send(connectPacket({ clientId, username: 'guest', password: 'guest' }))
      await waitFor(() => packets.count(CONNACK) === 1, { message: 'CONNACK' })
      raw.send(subscribePacket(1, [{ filter: `${clientId}/flood`, qos: 0 }]))
      await waitFor(() => packets.count(SUBACK) === 1, { message: 'SUBACK' })
      raw.socket.pause()

      // 600 x 64 KiB is far more than the loopback socket buffers hold.
      const { ch: confirms } = await amqplibConfirmChannel(conn)
      for (let i = 0; i < count; i++) confirms.publish('amq.topic', `${clientId}.flood`, body)
      await confirms.waitForConfirms()
      // The client's exclusive queue holds what the WebSocket could not take.
      const waiting = broker.server.broker.management.queue('/', `mqtt-subscription-${clientId}qos0`)?.lengths.ready
      expect(waiting).toBeGreaterThan(count / 4)
      await confirms.close()

      raw.socket.resume()
      await waitFor(() => packets.count(PUBLISH) === count, { timeout: 15_000, message: `${count} PUBLISH packets (got ${packets.count(PUBLISH)})` })
    } finally {
      raw.destroy()
    }
  })
})

describe('AMQP 0-9-1 over WebSocket (/amqp)', () => {
  test('AMQPWebSocketClient declares, publishes and consumes with acks', async () => {
    const { client, close } = await amqpWebSocket()
    try {
      const channel = await client.channel()
      const { name } = await channel.queueDeclare(uniq('ws-q'), { durable: false, autoDelete: true })
      await channel.basicPublish('', name, 'one', { contentType: 'text/plain' })
      await channel.basicPublish('', name, 'two')
      const got: AMQPMessage[] = []
      await channel.basicConsume(name, { noAck: false }, async (message) => {
        got.push(message)
        await message.ack()
      })
      await waitFor(() => got.length === 2, { message: 'two deliveries over the WebSocket' })
      expect(got.map((m) => m.bodyToString())).toEqual(['one', 'two'])
      expect(got[0]?.properties.contentType).toBe('text/plain')
    } finally {
      await close()
    }
  })

  test('a message larger than frame_max crosses in both directions', async () => {
    const { client, close } = await amqpWebSocket()
    try {
      const channel = await client.channel()
      const name = uniq('ws-big')
      await ch.assertQueue(name, { autoDelete: false })
      const body = new Uint8Array(300 * 1024)
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff
      await channel.basicPublish('', name, body)
      const [message] = await consumeN(ch, name, 1, { noAck: true })
      expect(Buffer.compare(message!.content, Buffer.from(body))).toBe(0)
      ch.sendToQueue(name, Buffer.from(body))
      const fetched = await waitFor(async () => await channel.basicGet(name, { noAck: true }), { message: 'basic.get over the WebSocket' })
      expect(Buffer.compare(Buffer.from(fetched.body as Uint8Array), Buffer.from(body))).toBe(0)
      await ch.deleteQueue(name)
    } finally {
      await close()
    }
  })

  test('AMQP over WebSocket -> mqtt.js over WebSocket through amq.topic', async () => {
    const root = uniqueId('ws-a2m')
    const sub = await connectMqtt(wsMqtt)
    const { client, close } = await amqpWebSocket()
    try {
      await sub.subscribe(`${root}/+`, { qos: 1 })
      const channel = await client.channel()
      await channel.basicPublish('amq.topic', `${root}.lamp`, 'on')
      expect((await sub.waitText('on')).topic).toBe(`${root}/lamp`)
    } finally {
      await close()
      await endAll(sub)
    }
  })

  test('wrong credentials are refused in-band, as over TCP', async () => {
    const client = new AMQPWebSocketClient(wsAmqp, '/', 'guest', 'wrong')
    await expect(client.connect()).rejects.toThrow()
    // The listener still serves others.
    const { close } = await amqpWebSocket()
    await close()
  })
})

describe('shutdown', () => {
  test('stopping the broker closes WebSocket clients of both protocols', async () => {
    const own = await startBroker()
    const mqttClient = await connectMqtt(`ws://127.0.0.1:${own.httpPort}/mqtt`, { version: 5 })
    const amqpClient = new AMQPWebSocketClient(`ws://127.0.0.1:${own.httpPort}/amqp`, '/', 'guest', 'guest')
    await amqpClient.connect()
    let amqpDown = false
    amqpClient.onerror = () => {
      amqpDown = true
    }
    await own.stop()
    await mqttClient.waitClosed()
    await waitFor(() => amqpDown || amqpClient.closed, { message: 'AMQP WebSocket client closed' })
  })
})
