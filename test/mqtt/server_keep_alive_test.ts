import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, uniqueId } from '../helpers/mqtt.ts'
import { PROP, RawMqtt } from '../helpers/raw_mqtt.ts'

// The default Server Keep Alive ceiling (mqttMaxKeepAlive 60): a v5 client asking for a longer
// keep alive is told 60 in CONNACK [MQTT-3.2.2-21]. Paho interoperability client_test5.py
// test_server_keep_alive connects with keepalive 120 and expects Server Keep Alive 60.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

async function serverKeepAlive(keepalive: number): Promise<unknown> {
  const raw = await RawMqtt.open(broker.mqttPort, 5)
  try {
    const connack = await raw.connect({ clientId: uniqueId('ska'), keepalive })
    expect(connack.code).toBe(0)
    return connack.properties?.values.get(PROP.serverKeepAlive)
  } finally {
    raw.destroy()
  }
}

describe('MQTT 5.0 default Server Keep Alive', () => {
  test('keepalive 120 is capped to 60 and CONNACK says so (paho test_server_keep_alive)', async () => {
    expect(await serverKeepAlive(120)).toBe(60)
  })

  test('keepalive up to 60 is kept: no Server Keep Alive', async () => {
    expect(await serverKeepAlive(60)).toBeUndefined()
    expect(await serverKeepAlive(30)).toBeUndefined()
  })

  test('keepalive 0 (off) stays off: no Server Keep Alive', async () => {
    expect(await serverKeepAlive(0)).toBeUndefined()
  })

  test('mqtt.js sees the cap', async () => {
    const c = await connectMqtt(broker.mqttUrl, { version: 5, keepalive: 300 })
    try {
      expect(c.connack.properties?.serverKeepAlive).toBe(60)
    } finally {
      await c.end()
    }
  })
})

describe('MQTT 3.1.1 keep alive', () => {
  test('a v3.1.1 client cannot be told a Server Keep Alive: its keepalive 120 is accepted', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 4)
    try {
      const connack = await raw.connect({ clientId: uniqueId('ska4'), keepalive: 120 })
      expect(connack.code).toBe(0)
      await raw.ping()
    } finally {
      raw.destroy()
    }
  })
})
