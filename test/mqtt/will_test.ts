import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, passTime, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import { RawMqtt, disconnectPacket, publishPacket } from '../helpers/raw_mqtt.ts'

// Last will: published on an abnormal disconnect (see keepalive_test.ts for the keepalive
// timeout), never after a normal DISCONNECT; v5 will delay and will properties.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** A watcher subscribed (QoS 1) to a fresh will topic. */
async function watch(version: 4 | 5): Promise<{ watcher: TestClient; willTopic: string }> {
  const willTopic = `will/${uniqueId('w')}`
  const watcher = await connectMqtt(broker.mqttUrl, { version })
  await watcher.subscribe(willTopic, { qos: 1 })
  return { watcher, willTopic }
}

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} last will`, () => {
    test('the will is published when the network connection drops without DISCONNECT [MQTT-3.1.2-8]', async () => {
      const { watcher, willTopic } = await watch(version)
      const dying = await connectMqtt(broker.mqttUrl, { version, will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: false } })
      try {
        await dying.kill()
        const will = await watcher.waitText('gone')
        expect(will.topic).toBe(willTopic)
        expect(will.packet.qos).toBe(1)
      } finally {
        await endAll(watcher, dying)
      }
    })

    test('no will after a normal DISCONNECT [MQTT-3.1.2-10]', async () => {
      const { watcher, willTopic } = await watch(version)
      const leaving = await connectMqtt(broker.mqttUrl, { version, will: { topic: willTopic, payload: Buffer.from('should not'), qos: 1, retain: false } })
      const other = await connectMqtt(broker.mqttUrl, { version })
      try {
        await leaving.end()
        // A marker on the will topic after the DISCONNECT was processed: a will would precede it.
        await other.publish(willTopic, 'marker', { qos: 1 })
        await watcher.waitText('marker')
        expect(watcher.on(willTopic).map((m) => m.text)).toEqual(['marker'])
      } finally {
        await endAll(watcher, leaving, other)
      }
    })

    test('the will is published when the server closes the connection for a protocol error [MQTT-3.1.2-8]', async () => {
      const { watcher, willTopic } = await watch(version)
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        await raw.connect({ clientId: uniqueId('bad'), will: { topic: willTopic, payload: 'protocol error', qos: 1 } })
        // QoS 3 is malformed [MQTT-3.3.1-4]: the server closes the connection.
        raw.write(publishPacket({ version, topic: 'x', qos: 3, packetId: 1, payload: 'bad' }))
        await raw.waitClosed()
        await watcher.waitText('protocol error')
      } finally {
        raw.destroy()
        await watcher.end()
      }
    })

    test('a will with RETAIN 1 becomes the retained message of its topic [MQTT-3.1.2-17]', async () => {
      const willTopic = `will/${uniqueId('retained')}`
      const dying = await connectMqtt(broker.mqttUrl, { version, will: { topic: willTopic, payload: Buffer.from('last words'), qos: 1, retain: true } })
      const live = await connectMqtt(broker.mqttUrl, { version })
      await live.subscribe(willTopic, { qos: 1 })
      await dying.kill()
      await live.waitText('last words')
      const late = await connectMqtt(broker.mqttUrl, { version })
      try {
        await late.subscribe(willTopic, { qos: 1 })
        const m = await late.waitText('last words')
        expect(m.packet.retain).toBe(true)
      } finally {
        await endAll(dying, live, late)
      }
    })
  })
}

describe('MQTT 5.0 will', () => {
  test('a session takeover publishes the will of the old connection (MQTT 5.0 3.1.4)', async () => {
    // MQTT 5.0 3.1.4: the old connection is closed with 0x8E and "if the existing Client has
    // a Will Message, that Will Message is published" (after its Will Delay Interval, 0 here).
    const { watcher, willTopic } = await watch(5)
    const clientId = uniqueId('takeover-will')
    const first = await connectMqtt(broker.mqttUrl, { version: 5, clientId, will: { topic: willTopic, payload: Buffer.from('taken over'), qos: 1, retain: false } })
    const second = await connectMqtt(broker.mqttUrl, { version: 5, clientId })
    try {
      await first.waitClosed()
      await watcher.waitText('taken over')
    } finally {
      await endAll(watcher, first, second)
    }
  })

  test('DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will [MQTT-3.14.2.1]', async () => {
    const { watcher, willTopic } = await watch(5)
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      await raw.connect({ clientId: uniqueId('dww'), will: { topic: willTopic, payload: 'asked for it', qos: 1 } })
      raw.write(disconnectPacket(0x04))
      await raw.waitClosed()
      await watcher.waitText('asked for it')
    } finally {
      raw.destroy()
      await watcher.end()
    }
  })

  test('will properties reach the subscriber (content type, user properties, response topic, correlation data, format), user property order kept [MQTT-3.1.3-10]', async () => {
    const { watcher, willTopic } = await watch(5)
    const dying = await connectMqtt(broker.mqttUrl, {
      version: 5,
      will: {
        topic: willTopic,
        payload: Buffer.from('{"state":"offline"}'),
        qos: 1,
        retain: false,
        properties: {
          contentType: 'application/json',
          payloadFormatIndicator: true,
          responseTopic: 'replies/here',
          correlationData: Buffer.from([1, 2, 3]),
          userProperties: { device: 'thermo-1' },
        },
      },
    })
    try {
      await dying.kill()
      const will = await watcher.waitText('{"state":"offline"}')
      const p = will.packet.properties ?? {}
      expect(p.contentType).toBe('application/json')
      expect(p.payloadFormatIndicator).toBe(true)
      expect(p.responseTopic).toBe('replies/here')
      expect(Buffer.from(p.correlationData ?? [])).toEqual(Buffer.from([1, 2, 3]))
      expect(p.userProperties).toEqual({ device: 'thermo-1' })
    } finally {
      await endAll(watcher, dying)
    }
  })

  test('Will Delay Interval: the will goes out only after the delay (MQTT 5.0 3.1.3.2.2)', async () => {
    const { watcher, willTopic } = await watch(5)
    const dying = await connectMqtt(broker.mqttUrl, {
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: { topic: willTopic, payload: Buffer.from('delayed'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    })
    try {
      await dying.kill()
      const will = await watcher.waitText('delayed', 5000)
      // 1 s delay, with a little slack for timer granularity.
      expect(will.at - dying.closedAt).toBeGreaterThanOrEqual(900)
    } finally {
      await endAll(watcher, dying)
      await cleanSession(dying.clientId)
    }
  })

  test('Will Delay Interval: reconnecting within the delay cancels the will [MQTT-3.1.3-9]', async () => {
    const { watcher, willTopic } = await watch(5)
    const clientId = uniqueId('comeback')
    const dying = await connectMqtt(broker.mqttUrl, {
      version: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: { topic: willTopic, payload: Buffer.from('should not'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    })
    let back: TestClient | undefined
    try {
      await dying.kill()
      back = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 30 } })
      expect(back.connack.sessionPresent).toBe(true)
      // The will's delay is a duration: let it pass, then prove with a marker that nothing came.
      await passTime(1500)
      await back.publish(willTopic, 'marker', { qos: 1 })
      await watcher.waitText('marker')
      expect(watcher.on(willTopic).map((m) => m.text)).toEqual(['marker'])
    } finally {
      await endAll(watcher, dying, back)
      await cleanSession(clientId)
    }
  })

  test('the will is published when the session ends, even before a longer Will Delay Interval (MQTT 5.0 3.1.3.2.2)', async () => {
    // Session Expiry 0: the session ends with the connection, and the will with it (MQTT 5.0
    // 3.1.3.2.2: "until the Will Delay Interval has passed or the Session ends, whichever happens first").
    const { watcher, willTopic } = await watch(5)
    const dying = await connectMqtt(broker.mqttUrl, {
      version: 5,
      will: { topic: willTopic, payload: Buffer.from('session over'), qos: 1, retain: false, properties: { willDelayInterval: 60 } },
    })
    try {
      await dying.kill()
      await watcher.waitText('session over', 3000)
    } finally {
      await endAll(watcher, dying)
    }
  })
})

/** Ends a persistent session left behind by a test (clean start, then a normal DISCONNECT). */
async function cleanSession(clientId: string): Promise<void> {
  const c = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: true })
  await c.end()
}
