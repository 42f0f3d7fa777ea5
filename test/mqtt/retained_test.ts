import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, uniqueId, type TestClient } from '../helpers/mqtt.ts'

// Retained messages: set, replace, clear, delivery on subscribe (also to wildcard filters), the
// RETAIN flag on live deliveries, and the v5 retain handling / retain-as-published options.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/**
 * Subscribes `sub` to `filter`, then publishes a live (non-retained) marker on `liveTopic`, which
 * must match `filter`: retained messages are sent right after SUBACK, so once the marker is in,
 * every retained message the subscribe produced has arrived. Returns the retained ones.
 */
async function subscribeAndSettle(sub: TestClient, pub: TestClient, filter: string, liveTopic: string, opts: { qos: 0 | 1 | 2; rh?: number; rap?: boolean } = { qos: 1 }) {
  const before = sub.messages.length
  await sub.subscribe(filter, opts)
  const marker = uniqueId('live')
  await pub.publish(liveTopic, marker, { qos: 1 })
  await sub.waitText(marker)
  return sub.messages.slice(before).filter((m) => m.text !== marker)
}

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} retained messages`, () => {
    test('a retained message is sent to a new subscriber with RETAIN 1 [MQTT-3.3.1-6] [MQTT-3.3.1-8]', async () => {
      const topic = `ret/${uniqueId('set')}`
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'kept', { qos: 1, retain: true })
        const got = await subscribeAndSettle(sub, pub, topic, topic)
        expect(got.map((m) => [m.text, m.packet.retain])).toEqual([['kept', true]])
      } finally {
        await endAll(pub, sub)
      }
    })

    test('a new retained message replaces the old one [MQTT-3.3.1-5]', async () => {
      const topic = `ret/${uniqueId('replace')}`
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'v1', { qos: 1, retain: true })
        await pub.publish(topic, 'v2', { qos: 1, retain: true })
        const got = await subscribeAndSettle(sub, pub, topic, topic)
        expect(got.map((m) => m.text)).toEqual(['v2'])
      } finally {
        await endAll(pub, sub)
      }
    })

    test('a retained message with an empty payload clears the topic [MQTT-3.3.1-10]', async () => {
      const topic = `ret/${uniqueId('clear')}`
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'soon gone', { qos: 1, retain: true })
        await pub.publish(topic, '', { qos: 1, retain: true })
        const got = await subscribeAndSettle(sub, pub, topic, topic)
        expect(got).toHaveLength(0)
      } finally {
        await endAll(pub, sub)
      }
    })

    test('a live delivery of a retained publish to an existing subscriber has RETAIN 0 [MQTT-3.3.1-9]', async () => {
      const topic = `ret/${uniqueId('live')}`
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(topic, { qos: 1 })
        await pub.publish(topic, 'live', { qos: 1, retain: true })
        const [m] = await sub.waitMessages(1, topic)
        expect(m?.packet.retain).toBe(false)
      } finally {
        await endAll(pub, sub)
      }
    })

    test('retained messages are sent to matching wildcard filters (+ and #)', async () => {
      const root = uniqueId('retwild')
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const hash = await connectMqtt(broker.mqttUrl, { version })
      const plus = await connectMqtt(broker.mqttUrl, { version })
      try {
        for (const t of [`${root}/a/b`, `${root}/c`, `${root}/a/d/e`]) await pub.publish(t, t, { qos: 1, retain: true })
        const all = await subscribeAndSettle(hash, pub, `${root}/#`, `${root}/live`)
        expect(all.map((m) => m.topic).sort()).toEqual([`${root}/a/b`, `${root}/a/d/e`, `${root}/c`])
        expect(all.every((m) => m.packet.retain)).toBe(true)
        const one = await subscribeAndSettle(plus, pub, `${root}/+/b`, `${root}/live/b`)
        expect(one.map((m) => m.topic)).toEqual([`${root}/a/b`])
      } finally {
        await endAll(pub, hash, plus)
      }
    })

    test('every matching retained message is delivered on subscribe: no silent cap (120 topics)', async () => {
      const root = uniqueId('retmany')
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await Promise.all(Array.from({ length: 120 }, (_, i) => pub.publish(`${root}/${i}`, `r${i}`, { qos: 1, retain: true })))
        const got = await subscribeAndSettle(sub, pub, `${root}/#`, `${root}/live`)
        expect(got).toHaveLength(120)
      } finally {
        await endAll(pub, sub)
      }
    })

    test('a retained message is delivered at the minimum of its QoS and the subscription QoS', async () => {
      const topic = `ret/${uniqueId('qos')}`
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub0 = await connectMqtt(broker.mqttUrl, { version })
      const sub2 = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(topic, 'q1', { qos: 1, retain: true })
        const [a] = await subscribeAndSettle(sub0, pub, topic, topic, { qos: 0 })
        const [b] = await subscribeAndSettle(sub2, pub, topic, topic, { qos: 2 })
        expect(a?.packet.qos).toBe(0)
        expect(b?.packet.qos).toBe(1)
      } finally {
        await endAll(pub, sub0, sub2)
      }
    })

    test("a retained message on a '$' topic is not sent to a '#' subscription [MQTT-4.7.2-1]", async () => {
      const id = uniqueId('retdollar')
      const pub = await connectMqtt(broker.mqttUrl, { version })
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(`$${id}/x`, 'dollar', { qos: 1, retain: true })
        const got = await subscribeAndSettle(sub, pub, '#', `plain/${id}`)
        expect(got.filter((m) => m.topic.startsWith('$'))).toHaveLength(0)
        // Cleared again so later '#' subscribers in this file do not see it.
        await pub.publish(`$${id}/x`, '', { qos: 1, retain: true })
      } finally {
        await endAll(pub, sub)
      }
    })
  })
}

describe('MQTT 5.0 retain options', () => {
  test('Retain Handling 0 sends retained messages on every subscribe [MQTT-3.3.1-9]', async () => {
    const topic = `rh/${uniqueId('0')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'r', { qos: 1, retain: true })
      expect(await subscribeAndSettle(sub, pub, topic, topic, { qos: 1, rh: 0 })).toHaveLength(1)
      expect(await subscribeAndSettle(sub, pub, topic, topic, { qos: 1, rh: 0 })).toHaveLength(1)
    } finally {
      await endAll(pub, sub)
    }
  })

  test('Retain Handling 1 sends retained messages only if the subscription did not exist [MQTT-3.3.1-10]', async () => {
    const topic = `rh/${uniqueId('1')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'r', { qos: 1, retain: true })
      expect(await subscribeAndSettle(sub, pub, topic, topic, { qos: 1, rh: 1 })).toHaveLength(1)
      expect(await subscribeAndSettle(sub, pub, topic, topic, { qos: 1, rh: 1 })).toHaveLength(0)
    } finally {
      await endAll(pub, sub)
    }
  })

  test('Retain Handling 2 never sends retained messages on subscribe [MQTT-3.3.1-11]', async () => {
    const topic = `rh/${uniqueId('2')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, 'r', { qos: 1, retain: true })
      expect(await subscribeAndSettle(sub, pub, topic, topic, { qos: 1, rh: 2 })).toHaveLength(0)
    } finally {
      await endAll(pub, sub)
    }
  })

  test('Retain As Published 1 keeps the RETAIN flag on live deliveries [MQTT-3.3.1-13]', async () => {
    const topic = `rap/${uniqueId('1')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1, rap: true })
      await pub.publish(topic, 'retained', { qos: 1, retain: true })
      await pub.publish(topic, 'not retained', { qos: 1, retain: false })
      const got = await sub.waitMessages(2, topic)
      expect(got.map((m) => [m.text, m.packet.retain])).toEqual([
        ['retained', true],
        ['not retained', false],
      ])
      await pub.publish(topic, '', { qos: 1, retain: true })
    } finally {
      await endAll(pub, sub)
    }
  })

  test('Retain As Published 0 clears the RETAIN flag on live deliveries [MQTT-3.3.1-12]', async () => {
    const topic = `rap/${uniqueId('0')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1, rap: false })
      await pub.publish(topic, 'retained', { qos: 1, retain: true })
      const [m] = await sub.waitMessages(1, topic)
      expect(m?.packet.retain).toBe(false)
    } finally {
      await endAll(pub, sub)
    }
  })

  test('a retained message keeps its v5 properties', async () => {
    const topic = `retprops/${uniqueId('t')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await pub.publish(topic, '{"t":21}', {
        qos: 1,
        retain: true,
        properties: { contentType: 'application/json', userProperties: { unit: 'celsius' } },
      })
      const [m] = await subscribeAndSettle(sub, pub, topic, topic)
      expect(m?.packet.properties?.contentType).toBe('application/json')
      expect(m?.packet.properties?.userProperties).toEqual({ unit: 'celsius' })
    } finally {
      await endAll(pub, sub)
    }
  })
})

describe('retained messages across protocol versions', () => {
  test('a message retained by a v3.1.1 client is delivered to a v5 subscriber and vice versa', async () => {
    const t4 = `retx/${uniqueId('v4')}`
    const t5 = `retx/${uniqueId('v5')}`
    const c4 = await connectMqtt(broker.mqttUrl, { version: 4 })
    const c5 = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await c4.publish(t4, 'from v4', { qos: 1, retain: true })
      await c5.publish(t5, 'from v5', { qos: 1, retain: true })
      const at5 = await subscribeAndSettle(c5, c4, t4, t4)
      const at4 = await subscribeAndSettle(c4, c5, t5, t5)
      expect(at5.map((m) => m.text)).toEqual(['from v4'])
      expect(at4.map((m) => m.text)).toEqual(['from v5'])
    } finally {
      await endAll(c4, c5)
    }
  })
})
