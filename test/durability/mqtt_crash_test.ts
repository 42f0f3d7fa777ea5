// kill -9 with mqtt.js: QoS 1 messages PUBACKed for a persistent session, the session itself and
// retained messages survive.
import { afterAll, describe, expect, test } from 'bun:test'
import { connectMqtt, endAll, uniqueId } from '../helpers/mqtt.ts'
import { cleanup, startBrokerProcess, tempDataDir } from './broker_process.ts'

afterAll(cleanup)

describe('kill -9 with MQTT persistent sessions (mqtt.js)', () => {
  for (const version of [4, 5] as const) {
    test(`v${version}: every PUBACKed QoS 1 message reaches the persistent session after the restart, once and in order`, async () => {
      const dataDir = tempDataDir()
      let broker = await startBrokerProcess(dataDir)
      const clientId = uniqueId('durable')
      // v5 sessions end with the connection unless they ask for an expiry.
      const sessionOpts = { version, clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) }
      const sub = await connectMqtt(broker.mqttUrl, sessionOpts)
      await sub.subscribe('sensors/#', { qos: 1 })
      await sub.end()

      const pub = await connectMqtt(broker.mqttUrl, { version })
      for (let i = 0; i < 50; i++) await pub.publish(`sensors/${i % 3}`, `reading-${i}`, { qos: 1 })
      await pub.publish('status/device', 'online', { qos: 1, retain: true })
      await broker.crash()
      await endAll(pub)

      broker = await startBrokerProcess(dataDir)
      const back = await connectMqtt(broker.mqttUrl, sessionOpts)
      expect(back.connack.sessionPresent).toBe(true)
      const got = await back.waitMessages(50, undefined, 10_000)
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `reading-${i}`))
      const late = await connectMqtt(broker.mqttUrl, { version })
      await late.subscribe('status/#', { qos: 1 })
      const retained = await late.waitMessages(1, 'status/device')
      expect(retained[0]!.text).toBe('online')
      expect(retained[0]!.packet.retain).toBe(true)
      await endAll(back, late)
      await broker.stop()
    }, 60_000)
  }
})
