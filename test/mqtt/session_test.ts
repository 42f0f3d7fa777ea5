import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, fence, passTime, uniqueId, type ConnectOptions, type MqttVersion } from '../helpers/mqtt.ts'

// Sessions: clean session / clean start, persistent sessions that keep subscriptions and queue
// QoS 1/2 messages while the client is away, session expiry and the per-session limits.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** Options for a session that outlives the connection: v3.1.1 clean=0; v5 clean start 0 + expiry. */
function persistent(version: MqttVersion, clientId: string, expiry = 300): ConnectOptions {
  return version === 5 ? { version, clientId, clean: false, properties: { sessionExpiryInterval: expiry } } : { version, clientId, clean: false }
}

/** Ends whatever session `clientId` left behind. */
async function discard(url: string, version: MqttVersion, clientId: string): Promise<void> {
  const c = await connectMqtt(url, { version, clientId, clean: true })
  await c.end()
}

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} sessions`, () => {
    test('a persistent session keeps its subscriptions and queues QoS 1 and 2 messages while away; session present on reconnect [MQTT-3.2.2-2]', async () => {
      const clientId = uniqueId('persist')
      const topic = `sess/${uniqueId('t')}`
      const first = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
      expect(first.connack.sessionPresent).toBe(false)
      await first.subscribe(topic, { qos: 2 })
      await first.end()
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'away-1', { qos: 1 })
        await pub.publish(topic, 'away-2', { qos: 2 })
        await pub.publish(topic, 'away-3', { qos: 1 })
        const back = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
        try {
          expect(back.connack.sessionPresent).toBe(true)
          // No SUBSCRIBE this time: the stored subscription delivers. (mqtt.js emits a QoS 2
          // message only at PUBREL, so arrival order across QoS levels is not the wire order.)
          const got = await back.waitMessages(3, topic)
          expect(got.map((m) => [m.text, m.packet.qos]).sort()).toEqual([
            ['away-1', 1],
            ['away-2', 2],
            ['away-3', 1],
          ])
          // ... and it is still live.
          await pub.publish(topic, 'live', { qos: 1 })
          await back.waitText('live')
        } finally {
          await back.end()
        }
      } finally {
        await pub.end()
        await discard(broker.mqttUrl, version, clientId)
      }
    })

    test('an unacknowledged QoS 1 delivery is resent with DUP after reconnect to the persistent session [MQTT-4.4.0-1]', async () => {
      const clientId = uniqueId('resend')
      const topic = `sess/${uniqueId('t')}`
      const first = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
      await first.subscribe(topic, { qos: 1 })
      // Hold the PUBACK: mqtt.js acks only once handleMessage calls back.
      first.client.handleMessage = (_packet, _callback) => {}
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'unacked', { qos: 1 })
        await first.waitText('unacked')
        await first.kill()
        const back = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
        try {
          const m = await back.waitText('unacked')
          expect(m.packet.dup).toBe(true)
        } finally {
          await back.end()
        }
      } finally {
        await pub.end()
        await discard(broker.mqttUrl, version, clientId)
      }
    })

    test('a clean session discards the previous session: no session present, no old subscriptions [MQTT-3.1.2-6]', async () => {
      const clientId = uniqueId('clean')
      const topic = `sess/${uniqueId('t')}`
      const first = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
      await first.subscribe(topic, { qos: 1 })
      await first.end()
      const clean = await connectMqtt(broker.mqttUrl, { version, clientId, clean: true })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        expect(clean.connack.sessionPresent).toBe(false)
        await pub.publish(topic, 'nobody listens', { qos: 1 })
        await fence(pub, [clean], 1)
        expect(clean.on(topic)).toHaveLength(0)
        await clean.end()
        // The persistent session is gone for good, not just hidden for one connection.
        const again = await connectMqtt(broker.mqttUrl, persistent(version, clientId))
        expect(again.connack.sessionPresent).toBe(false)
        await fence(pub, [again], 1)
        expect(again.on(topic)).toHaveLength(0)
        await again.end()
      } finally {
        await endAll(clean, pub)
        await discard(broker.mqttUrl, version, clientId)
      }
    })

    test('a clean session receives nothing that was published while it was away', async () => {
      const clientId = uniqueId('cleanaway')
      const topic = `sess/${uniqueId('t')}`
      const first = await connectMqtt(broker.mqttUrl, { version, clientId, clean: true })
      await first.subscribe(topic, { qos: 1 })
      await first.end()
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'missed', { qos: 1 })
        const back = await connectMqtt(broker.mqttUrl, { version, clientId, clean: true })
        await back.subscribe(topic, { qos: 1 })
        await pub.publish(topic, 'after', { qos: 1 })
        await back.waitText('after')
        expect(back.on(topic).map((m) => m.text)).toEqual(['after'])
        await back.end()
      } finally {
        await pub.end()
      }
    })
  })
}

describe('MQTT 5.0 session expiry', () => {
  test('clean start 0 without Session Expiry Interval: the session ends with the connection (MQTT 5.0 3.1.2.11.2)', async () => {
    const clientId = uniqueId('noexpiry')
    const topic = `sess/${uniqueId('t')}`
    const first = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: false })
    await first.subscribe(topic, { qos: 1 })
    await first.end()
    const back = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: false })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      expect(back.connack.sessionPresent).toBe(false)
      await pub.publish(topic, 'no subscription left', { qos: 1 })
      await fence(pub, [back], 1)
      expect(back.on(topic)).toHaveLength(0)
    } finally {
      await endAll(back, pub)
    }
  })

  test('clean start 1 discards an existing session [MQTT-3.1.2-4]', async () => {
    const clientId = uniqueId('cleanstart')
    const first = await connectMqtt(broker.mqttUrl, persistent(5, clientId))
    await first.subscribe(`sess/${uniqueId('t')}`, { qos: 1 })
    await first.end()
    const clean = await connectMqtt(broker.mqttUrl, { version: 5, clientId, clean: true, properties: { sessionExpiryInterval: 300 } })
    expect(clean.connack.sessionPresent).toBe(false)
    await clean.end()
    await discard(broker.mqttUrl, 5, clientId)
  })

  test('a session is gone once its Session Expiry Interval passed after disconnect, queued messages with it', async () => {
    const clientId = uniqueId('expires')
    const topic = `sess/${uniqueId('t')}`
    const first = await connectMqtt(broker.mqttUrl, persistent(5, clientId, 1))
    await first.subscribe(topic, { qos: 1 })
    await first.end()
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'expires with the session', { qos: 1 })
      // The expiry is a duration: 1 s, plus slack.
      await passTime(1600)
      const back = await connectMqtt(broker.mqttUrl, persistent(5, clientId))
      try {
        expect(back.connack.sessionPresent).toBe(false)
        await fence(pub, [back], 1)
        expect(back.on(topic)).toHaveLength(0)
      } finally {
        await back.end()
      }
    } finally {
      await pub.end()
      await discard(broker.mqttUrl, 5, clientId)
    }
  })

  test('a session within its Session Expiry Interval is resumed', async () => {
    const clientId = uniqueId('resumes')
    const topic = `sess/${uniqueId('t')}`
    const first = await connectMqtt(broker.mqttUrl, persistent(5, clientId, 60))
    await first.subscribe(topic, { qos: 1 })
    await first.end()
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'waiting', { qos: 1 })
      const back = await connectMqtt(broker.mqttUrl, persistent(5, clientId, 60))
      try {
        expect(back.connack.sessionPresent).toBe(true)
        await back.waitText('waiting')
      } finally {
        await back.end()
      }
    } finally {
      await pub.end()
      await discard(broker.mqttUrl, 5, clientId)
    }
  })

  test('DISCONNECT may shorten the Session Expiry Interval to 0: the session ends (MQTT 5.0 3.14.2.2.2)', async () => {
    const clientId = uniqueId('discexp')
    const first = await connectMqtt(broker.mqttUrl, persistent(5, clientId, 300))
    await first.subscribe(`sess/${uniqueId('t')}`, { qos: 1 })
    await first.client.endAsync({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } })
    const back = await connectMqtt(broker.mqttUrl, persistent(5, clientId))
    try {
      expect(back.connack.sessionPresent).toBe(false)
    } finally {
      await back.end()
      await discard(broker.mqttUrl, 5, clientId)
    }
  })
})

describe('session limits (mqttSessionQueueLimit 5, mqttMaxSessionExpiry 30)', () => {
  let limited: TestBroker

  beforeAll(async () => {
    limited = await startBroker({ mqttSessionQueueLimit: 5, mqttMaxSessionExpiry: 30 })
  })

  afterAll(async () => {
    await limited?.stop()
  })

  for (const version of VERSIONS) {
    test(`v${version}: an away session holds at most the per-session queue limit`, async () => {
      const clientId = uniqueId('capped')
      const topic = `cap/${uniqueId('t')}`
      const first = await connectMqtt(limited.mqttUrl, persistent(version, clientId, 30))
      await first.subscribe(topic, { qos: 1 })
      await first.end()
      const pub = await connectMqtt(limited.mqttUrl, { version })
      try {
        // Over the limit the broker drops or refuses (v5 PUBACK 0x97 Quota exceeded): either way
        // the abandoned session cannot grow without bound.
        await Promise.allSettled(Array.from({ length: 12 }, (_, i) => pub.publish(topic, `m${i}`, { qos: 1 })))
        const back = await connectMqtt(limited.mqttUrl, persistent(version, clientId, 30))
        try {
          expect(back.connack.sessionPresent).toBe(true)
          await pub.publish(topic, 'live', { qos: 1 })
          await back.waitText('live')
          const queued = back.on(topic).filter((m) => m.text !== 'live')
          expect(queued.length).toBeGreaterThan(0)
          expect(queued.length).toBeLessThanOrEqual(5)
        } finally {
          await back.end()
        }
      } finally {
        await pub.end()
        await discard(limited.mqttUrl, version, clientId)
      }
    })
  }

  test('v5: a Session Expiry Interval above the maximum is capped and CONNACK says so (MQTT 5.0 3.2.2.3.2)', async () => {
    const clientId = uniqueId('maxexp')
    const c = await connectMqtt(limited.mqttUrl, persistent(5, clientId, 3600))
    try {
      expect(c.connack.properties?.sessionExpiryInterval).toBe(30)
    } finally {
      await c.end()
      await discard(limited.mqttUrl, 5, clientId)
    }
  })
})
