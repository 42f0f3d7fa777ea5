import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { VERSIONS, connectMqtt, endAll, fence, subscriptionIds, uniqueId, type TestClient } from '../helpers/mqtt.ts'
import { waitFor } from '../helpers/wait.ts'

// Topic filters (+ and #), '$' topics, overlapping subscriptions, unsubscribe, and the v5
// subscription options: identifiers, no-local and shared subscriptions.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

const topics = (c: TestClient, prefix: string) =>
  c
    .on()
    .filter((m) => m.topic.startsWith(prefix))
    .map((m) => m.topic)
    .sort()

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} topic filters`, () => {
    test('+ matches exactly one level, # any number including the parent level (MQTT 4.7.1.2, 4.7.1.3)', async () => {
      const root = uniqueId('wild')
      const plus = await connectMqtt(broker.mqttUrl, { version })
      const hash = await connectMqtt(broker.mqttUrl, { version })
      const mid = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await plus.subscribe(`${root}/+/c`)
        await hash.subscribe(`${root}/#`)
        await mid.subscribe(`${root}/a/#`)
        for (const t of [`${root}/a/c`, `${root}/b/c`, `${root}/a/b/c`, `${root}`, `${root}/a`, `${root}/a/c/d`]) await pub.publish(t, t)
        await fence(pub, [plus, hash, mid])
        expect(topics(plus, root)).toEqual([`${root}/a/c`, `${root}/b/c`])
        expect(topics(hash, root)).toEqual([`${root}`, `${root}/a`, `${root}/a/b/c`, `${root}/a/c`, `${root}/a/c/d`, `${root}/b/c`].sort())
        expect(topics(mid, root)).toEqual([`${root}/a`, `${root}/a/b/c`, `${root}/a/c`, `${root}/a/c/d`].sort())
      } finally {
        await endAll(plus, hash, mid, pub)
      }
    })

    test('+ matches an empty level (a/+/c matches a//c) and matching is case sensitive [MQTT-4.7.3-4]', async () => {
      const root = uniqueId('empty')
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(`${root}/+/c`)
        await pub.publish(`${root}//c`, 'empty level')
        await pub.publish(`${root}/x/C`, 'other case')
        await fence(pub, [sub])
        expect(topics(sub, root)).toEqual([`${root}//c`])
      } finally {
        await endAll(sub, pub)
      }
    })

    test("topics starting with '$' are not matched by filters starting with a wildcard [MQTT-4.7.2-1]", async () => {
      const id = uniqueId('dollar')
      const hash = await connectMqtt(broker.mqttUrl, { version })
      const plus = await connectMqtt(broker.mqttUrl, { version })
      const dollar = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await hash.subscribe('#')
        await plus.subscribe(`+/${id}`)
        await dollar.subscribe(`$${id}/#`)
        await pub.publish(`$${id}/${id}`, 'dollar')
        // Marker after it: matches '#' and '+/id', so it arrives at both right behind any leak.
        await pub.publish(`plain/${id}`, 'marker')
        await hash.waitText('marker')
        await plus.waitText('marker')
        const [got] = await dollar.waitMessages(1, `$${id}/${id}`)
        expect(got?.text).toBe('dollar')
        expect(hash.on(`$${id}/${id}`)).toHaveLength(0)
        expect(plus.on(`$${id}/${id}`)).toHaveLength(0)
      } finally {
        await endAll(hash, plus, dollar, pub)
      }
    })

    test('overlapping subscriptions: delivered with the maximum granted QoS [MQTT-3.3.5-1]', async () => {
      const root = uniqueId('overlap')
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(`${root}/+/c`, { qos: 0 })
        await sub.subscribe(`${root}/#`, { qos: 1 })
        await pub.publish(`${root}/b/c`, 'both', { qos: 1 })
        await sub.waitText('both')
        // Any second copy (one per subscription is allowed) was sent before this round trip.
        await fence(pub, [sub], 1)
        const copies = sub.on(`${root}/b/c`)
        expect(copies.length).toBeGreaterThanOrEqual(1)
        expect(copies.length).toBeLessThanOrEqual(2)
        expect(Math.max(...copies.map((m) => m.packet.qos))).toBe(1)
      } finally {
        await endAll(sub, pub)
      }
    })

    test('UNSUBSCRIBE gets UNSUBACK and stops delivery for that filter only [MQTT-3.10.4-2] [MQTT-3.10.4-4]', async () => {
      const root = uniqueId('unsub')
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe([`${root}/a`, `${root}/b`], { qos: 1 })
        const unsuback = await sub.client.unsubscribeAsync(`${root}/a`)
        expect(unsuback?.cmd).toBe('unsuback')
        await pub.publish(`${root}/a`, 'gone', { qos: 1 })
        await pub.publish(`${root}/b`, 'kept', { qos: 1 })
        await sub.waitText('kept')
        expect(sub.on(`${root}/a`)).toHaveLength(0)
      } finally {
        await endAll(sub, pub)
      }
    })

    test('a SUBSCRIBE for an existing filter replaces it: new QoS, no duplicate deliveries [MQTT-3.8.4-3]', async () => {
      const topic = `resub/${uniqueId('t')}`
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(topic, { qos: 0 })
        await sub.subscribe(topic, { qos: 1 })
        await pub.publish(topic, 'one', { qos: 1 })
        await sub.waitText('one')
        await fence(pub, [sub], 1)
        const copies = sub.on(topic)
        expect(copies).toHaveLength(1)
        expect(copies[0]?.packet.qos).toBe(1)
      } finally {
        await endAll(sub, pub)
      }
    })
  })
}

describe('MQTT 5.0 subscription options', () => {
  test('a Subscription Identifier comes back on every message the subscription matches [MQTT-3.3.4-3]', async () => {
    const topic = `subid/${uniqueId('t')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1, properties: { subscriptionIdentifier: 42 } })
      await pub.publish(topic, 'a', { qos: 1 })
      await pub.publish(topic, 'b', { qos: 0 })
      const got = await sub.waitMessages(2, topic)
      expect(got.map(subscriptionIds)).toEqual([[42], [42]])
    } finally {
      await endAll(sub, pub)
    }
  })

  test('a subscription without an identifier gets messages without one, even next to one that has it', async () => {
    const root = uniqueId('noid')
    const withId = await connectMqtt(broker.mqttUrl, { version: 5 })
    const without = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await withId.subscribe(`${root}/#`, { qos: 1, properties: { subscriptionIdentifier: 7 } })
      await without.subscribe(`${root}/#`, { qos: 1 })
      await pub.publish(`${root}/x`, 'm', { qos: 1 })
      const [a] = await withId.waitMessages(1, `${root}/x`)
      const [b] = await without.waitMessages(1, `${root}/x`)
      expect(subscriptionIds(a!)).toEqual([7])
      expect(subscriptionIds(b!)).toEqual([])
    } finally {
      await endAll(withId, without, pub)
    }
  })

  test('overlapping subscriptions carry every matching Subscription Identifier [MQTT-3.3.4-4] [MQTT-3.3.4-5]', async () => {
    const root = uniqueId('ids')
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(`${root}/+/c`, { qos: 0, properties: { subscriptionIdentifier: 1 } })
      await sub.subscribe(`${root}/#`, { qos: 1, properties: { subscriptionIdentifier: 2 } })
      await pub.publish(`${root}/b/c`, 'both', { qos: 1 })
      await sub.waitText('both')
      await fence(pub, [sub], 1)
      const copies = sub.on(`${root}/b/c`)
      // One copy with both identifiers, or one copy per subscription with its own.
      const ids = [...new Set(copies.flatMap(subscriptionIds))].sort()
      expect(ids).toEqual([1, 2])
      if (copies.length === 1) {
        expect(subscriptionIds(copies[0]!)).toEqual([1, 2])
        expect(copies[0]?.packet.qos).toBe(1)
      }
    } finally {
      await endAll(sub, pub)
    }
  })

  test('no-local: the client does not get its own publications back [MQTT-3.8.3-3]', async () => {
    const topic = `nolocal/${uniqueId('t')}`
    const me = await connectMqtt(broker.mqttUrl, { version: 5 })
    const other = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await me.subscribe(topic, { qos: 1, nl: true })
      await me.publish(topic, 'mine', { qos: 1 })
      await other.publish(topic, 'theirs', { qos: 1 })
      await me.waitText('theirs')
      expect(me.on(topic).map((m) => m.text)).toEqual(['theirs'])
    } finally {
      await endAll(me, other)
    }
  })

  test('without no-local the client gets its own publications', async () => {
    const topic = `local/${uniqueId('t')}`
    const me = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await me.subscribe(topic, { qos: 1, nl: false })
      await me.publish(topic, 'mine', { qos: 1 })
      await me.waitText('mine')
    } finally {
      await me.end()
    }
  })

  test('shared subscriptions: $share/group/filter load-balances, each message to one member (MQTT 5.0 4.8.2)', async () => {
    const root = uniqueId('shared')
    const group = uniqueId('g')
    const a = await connectMqtt(broker.mqttUrl, { version: 5 })
    const b = await connectMqtt(broker.mqttUrl, { version: 5 })
    const plain = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      const [grantA] = await a.subscribe(`$share/${group}/${root}/#`, { qos: 1 })
      const [grantB] = await b.subscribe(`$share/${group}/${root}/#`, { qos: 1 })
      expect(grantA?.qos).toBe(1)
      expect(grantB?.qos).toBe(1)
      await plain.subscribe(`${root}/#`, { qos: 1 })
      const N = 20
      for (let i = 0; i < N; i++) await pub.publish(`${root}/m`, `m${i}`, { qos: 1 })
      // The topic the members see is the real one, not the $share filter.
      await waitFor(() => a.on(`${root}/m`).length + b.on(`${root}/m`).length >= N, { message: `${N} messages across the group` })
      await plain.waitMessages(N, `${root}/m`)
      await fence(pub, [a, b], 1)
      const gotA = a.on(`${root}/m`).map((m) => m.text)
      const gotB = b.on(`${root}/m`).map((m) => m.text)
      expect([...gotA, ...gotB].sort()).toEqual(Array.from({ length: N }, (_, i) => `m${i}`).sort())
      // Load-balanced: both members got a share.
      expect(gotA.length).toBeGreaterThan(0)
      expect(gotB.length).toBeGreaterThan(0)
      // A non-shared subscription on the same filter gets everything.
      expect(plain.on(`${root}/m`)).toHaveLength(N)
    } finally {
      await endAll(a, b, plain, pub)
    }
  })

  test('shared subscriptions: when one member leaves the group, the others get everything', async () => {
    const root = uniqueId('shared-leave')
    const group = uniqueId('g')
    const a = await connectMqtt(broker.mqttUrl, { version: 5 })
    const b = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await a.subscribe(`$share/${group}/${root}`, { qos: 1 })
      await b.subscribe(`$share/${group}/${root}`, { qos: 1 })
      await b.end()
      for (let i = 0; i < 5; i++) await pub.publish(root, `m${i}`, { qos: 1 })
      const got = await a.waitMessages(5, root)
      expect(got.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    } finally {
      await endAll(a, b, pub)
    }
  })
})
