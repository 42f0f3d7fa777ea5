import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.ts'
import { startServer, type RunningServer } from '../../src/server.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, uniqueId, type ConnectOptions } from '../helpers/mqtt.ts'
import { PUBACK, RawMqtt, decodeAckReason, decodePacketId, publishPacket } from '../helpers/raw_mqtt.ts'

// Shared subscriptions held by persistent sessions: the group's queue lives as long as a member's
// session does, so messages published while every member is offline wait for them (as in
// Mosquitto), and it goes when the last member unsubscribes or its session ends.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

const NO_MATCHING_SUBSCRIBERS = 0x10

function persistent(clientId: string): ConnectOptions {
  return { version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 300 } }
}

let packetId = 0

/** Publishes QoS 1 from a raw v5 client; returns the PUBACK reason (0x10: no matching subscribers). */
async function publishReason(port: number, topic: string, payload: string): Promise<number> {
  const raw = await RawMqtt.open(port, 5)
  try {
    await raw.connect({ clientId: uniqueId('pub') })
    const id = ++packetId
    raw.write(publishPacket({ version: 5, topic, payload, qos: 1, packetId: id }))
    const puback = await raw.expect(PUBACK)
    expect(decodePacketId(puback)).toBe(id)
    return decodeAckReason(puback)
  } finally {
    raw.destroy()
  }
}

describe('MQTT 5.0 shared subscriptions of persistent sessions', () => {
  test('messages published while the only member is offline wait for it (s_v5 v_shared_sub_persistent_offline)', async () => {
    const topic = `vsp/${uniqueId('t')}`
    const clientId = uniqueId('s')
    const first = await connectMqtt(broker.mqttUrl, persistent(clientId))
    await first.subscribe(`$share/g/${topic}`, { qos: 1 })
    await first.end()
    expect(await publishReason(broker.mqttPort, topic, 'offline-shared')).toBe(0)
    const back = await connectMqtt(broker.mqttUrl, persistent(clientId))
    try {
      expect(back.connack.sessionPresent).toBe(true)
      const [m] = await back.waitMessages(1, topic)
      expect(m?.text).toBe('offline-shared')
    } finally {
      await back.end()
    }
    // A clean start ends the session, the group's last member: its queue goes.
    const clean = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: true })
    await clean.end()
    expect(await publishReason(broker.mqttPort, topic, 'nobody')).toBe(NO_MATCHING_SUBSCRIBERS)
  })

  test('the queue stays while a persistent member lives, after a clean member left', async () => {
    const topic = `mix/${uniqueId('t')}`
    const group = uniqueId('g')
    const durableId = uniqueId('durable')
    const durable = await connectMqtt(broker.mqttUrl, persistent(durableId))
    const clean = await connectMqtt(broker.mqttUrl, { version: 5 })
    await clean.subscribe(`$share/${group}/${topic}`, { qos: 1 })
    await durable.subscribe(`$share/${group}/${topic}`, { qos: 1 })
    await endAll(clean, durable)
    expect(await publishReason(broker.mqttPort, topic, 'kept')).toBe(0)
    const back = await connectMqtt(broker.mqttUrl, persistent(durableId))
    try {
      expect((await back.waitMessages(1, topic))[0]?.text).toBe('kept')
      // The last member unsubscribes: the queue goes with it.
      await back.client.unsubscribeAsync(`$share/${group}/${topic}`)
      expect(await publishReason(broker.mqttPort, topic, 'gone')).toBe(NO_MATCHING_SUBSCRIBERS)
    } finally {
      await back.end()
      await (await connectMqtt(broker.mqttUrl, { version: 5, clientId: durableId, clean: true })).end()
    }
  })

  test('one member unsubscribing keeps the queue for the others', async () => {
    const topic = `two/${uniqueId('t')}`
    const group = uniqueId('g')
    const aId = uniqueId('a')
    const a = await connectMqtt(broker.mqttUrl, persistent(aId))
    const b = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await a.subscribe(`$share/${group}/${topic}`, { qos: 1 })
      await b.subscribe(`$share/${group}/${topic}`, { qos: 1 })
      await a.end()
      await b.client.unsubscribeAsync(`$share/${group}/${topic}`)
      expect(await publishReason(broker.mqttPort, topic, 'for a')).toBe(0)
      const back = await connectMqtt(broker.mqttUrl, persistent(aId))
      try {
        expect((await back.waitMessages(1, topic))[0]?.text).toBe('for a')
      } finally {
        await back.end()
      }
    } finally {
      await b.end()
      await (await connectMqtt(broker.mqttUrl, { version: 5, clientId: aId, clean: true })).end()
    }
  })

  test('a group of clean sessions only: the queue goes when the last member disconnects', async () => {
    const topic = `cleanonly/${uniqueId('t')}`
    const a = await connectMqtt(broker.mqttUrl, { version: 5 })
    await a.subscribe(`$share/g/${topic}`, { qos: 1 })
    expect(await publishReason(broker.mqttPort, topic, 'live')).toBe(0)
    await a.waitMessages(1, topic)
    await a.end()
    expect(await publishReason(broker.mqttPort, topic, 'after')).toBe(NO_MATCHING_SUBSCRIBERS)
  })

  test('v3.1.1 persistent sessions keep their shared group queue too', async () => {
    const topic = `v4/${uniqueId('t')}`
    const clientId = uniqueId('v4')
    const first = await connectMqtt(broker.mqttUrl, { version: 4, clientId, clean: false })
    await first.subscribe(`$share/g/${topic}`, { qos: 1 })
    await first.end()
    expect(await publishReason(broker.mqttPort, topic, 'v4-offline')).toBe(0)
    const back = await connectMqtt(broker.mqttUrl, { version: 4, clientId, clean: false })
    try {
      expect((await back.waitMessages(1, topic))[0]?.text).toBe('v4-offline')
    } finally {
      await back.end()
      await (await connectMqtt(broker.mqttUrl, { version: 4, clientId, clean: true })).end()
    }
  })
})

describe('shared group queues across a broker restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-test-'))
  let server: RunningServer | undefined

  async function start(): Promise<RunningServer> {
    const config = loadConfig({ argv: [], env: {}, file: { host: '127.0.0.1', amqpPort: 0, mqttPort: 0, httpPort: 0, dataDir } })
    server = await startServer(config)
    return server
  }

  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('the queue and its membership survive: messages wait, and a clean start still removes it', async () => {
    const topic = `restart/${uniqueId('t')}`
    const clientId = uniqueId('r')
    let s = await start()
    const url = `mqtt://127.0.0.1:${s.ports.mqtt}`
    const first = await connectMqtt(url, persistent(clientId))
    await first.subscribe(`$share/g/${topic}`, { qos: 1 })
    await first.end()
    expect(await publishReason(s.ports.mqtt, topic, 'before')).toBe(0)
    await s.stop()

    s = await start()
    const url2 = `mqtt://127.0.0.1:${s.ports.mqtt}`
    expect(await publishReason(s.ports.mqtt, topic, 'after')).toBe(0)
    // The member ends its session without ever reconnecting it: the registry still knew it.
    const clean = await connectMqtt(url2, { version: 5, clientId, clean: true })
    await clean.end()
    expect(await publishReason(s.ports.mqtt, topic, 'gone')).toBe(NO_MATCHING_SUBSCRIBERS)
  })
})
