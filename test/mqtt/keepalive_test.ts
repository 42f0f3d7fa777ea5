import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, passTime, uniqueId } from '../helpers/mqtt.ts'
import { DISCONNECT, RC, RawMqtt, decodeDisconnect, pingreqPacket, PINGRESP } from '../helpers/raw_mqtt.ts'

// Keep Alive is a duration, so these tests necessarily spend real time (about 1.5 s each).
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

for (const version of VERSIONS) {
  describe(`MQTT ${version === 5 ? '5.0' : '3.1.1'} keepalive`, () => {
    test('a client silent for 1.5x its keepalive is disconnected and its will is published [MQTT-3.1.2-24]', async () => {
      const willTopic = `will/${uniqueId('ka')}`
      const watcher = await connectMqtt(broker.mqttUrl, { version: 5 })
      await watcher.subscribe(willTopic, { qos: 1 })
      const raw = await RawMqtt.open(broker.mqttPort, version)
      try {
        const sentAt = Date.now()
        const connack = await raw.connect({
          clientId: uniqueId('silent'),
          keepalive: 1,
          will: { topic: willTopic, payload: 'went silent', qos: 1 },
        })
        expect(connack.code).toBe(0)
        // From here on the client sends nothing at all.
        await raw.waitClosed(5000)
        const elapsed = raw.closedAt - sentAt
        // Not before 1.5 x 1 s (with a little slack for timer granularity), and not much later.
        expect(elapsed).toBeGreaterThanOrEqual(1400)
        expect(elapsed).toBeLessThan(4500)
        if (version === 5) {
          // v5 may say why before closing; if it does, the reason is 0x8D Keep Alive timeout.
          const disconnect = raw.queued.find((p) => p.type === DISCONNECT)
          if (disconnect) expect(decodeDisconnect(disconnect)).toBe(RC.keepAliveTimeout)
        }
        // A keepalive timeout is an abnormal disconnect, so the will goes out [MQTT-3.1.2-8].
        const will = await watcher.waitText('went silent')
        expect(will.topic).toBe(willTopic)
      } finally {
        raw.destroy()
        await watcher.end()
      }
    })
  })
}

describe('keepalive', () => {
  test('a client that sends PINGREQ within its keepalive stays connected past 1.5x keepalive', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 4)
    try {
      await raw.connect({ clientId: uniqueId('pinger'), keepalive: 1 })
      // 3 pings 0.6 s apart cover 1.8 s, beyond the 1.5 s a silent client is allowed.
      for (let i = 0; i < 3; i++) {
        await passTime(600)
        raw.write(pingreqPacket())
        await raw.expect(PINGRESP)
      }
      expect(raw.closed).toBe(false)
    } finally {
      raw.destroy()
    }
  })

  test('keepalive 0 (the mechanism turned off) is accepted (MQTT 3.1.2.10)', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 4, keepalive: 0 })
    try {
      const topic = `ka0/${uniqueId('t')}`
      await c.subscribe(topic, { qos: 1 })
      await c.publish(topic, 'still here', { qos: 1 })
      await c.waitMessages(1, topic)
      expect(c.closed).toBe(false)
    } finally {
      await c.end()
    }
  })
})
