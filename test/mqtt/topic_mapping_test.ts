import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, closeQuietly, consumeN } from '../helpers/amqp.ts'
import { VERSIONS, connectMqtt, endAll, fence, uniqueId } from '../helpers/mqtt.ts'

// How MQTT topics map onto AMQP routing keys. By default (mqttTopicDotEscaping true) matching
// follows MQTT semantics exactly, as Mosquitto's: a '.' or '*' inside a level is an ordinary
// character, escaped in the AMQP key. The RabbitMQ-compatible lossy mapping stays available with
// false; either way live routing and retained messages agree and no topic name a subscriber gets
// holds a wildcard character.
let broker: TestBroker
let lossy: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  lossy = await startBroker({ mqttTopicDotEscaping: false })
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
  await lossy?.stop()
})

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'

  describe(`MQTT ${name} topics (default mapping: MQTT semantics)`, () => {
    test('"T/v1.2/x" matches "T/+/x", live and retained, and arrives unchanged', async () => {
      const root = uniqueId('T')
      const topic = `${root}/v1.2/x`
      const live = await connectMqtt(broker.mqttUrl, { version })
      const split = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await live.subscribe(`${root}/+/x`, { qos: 1 })
        await split.subscribe(`${root}/v1/2/x`, { qos: 1 })
        await pub.publish(topic, 'dotted', { qos: 1, retain: true })
        const [m] = await live.waitMessages(1, topic)
        expect(m?.text).toBe('dotted')
        await fence(pub, [split], 1)
        expect(split.messages.filter((r) => r.text === 'dotted')).toHaveLength(0)

        const late = await connectMqtt(broker.mqttUrl, { version })
        try {
          await late.subscribe(`${root}/+/x`, { qos: 1 })
          const [r] = await late.waitMessages(1, topic)
          expect(r?.text).toBe('dotted')
          expect(r?.packet.retain).toBe(true)
        } finally {
          await late.end()
        }
      } finally {
        await endAll(live, split, pub)
      }
    })

    test('a topic "a*b" arrives as "a*b" (never with a wildcard character)', async () => {
      const topic = `${uniqueId('star')}/a*b`
      const sub = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(topic, { qos: 1 })
        await pub.publish(topic, 'starred', { qos: 1 })
        const [m] = await sub.waitMessages(1)
        expect(m?.topic).toBe(topic)
      } finally {
        await endAll(sub, pub)
      }
    })

    test('a literal "*" level in a filter is no wildcard: "*" does not match "sport", live or retained', async () => {
      const root = uniqueId('lit')
      const star = await connectMqtt(broker.mqttUrl, { version })
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(`${root}/sport`, 'retained sport', { qos: 1, retain: true })
        await star.subscribe(`${root}/*`, { qos: 1 })
        await pub.publish(`${root}/sport`, 'live sport', { qos: 1 })
        await pub.publish(`${root}/*`, 'star', { qos: 1 })
        const [m] = await star.waitMessages(1, `${root}/*`)
        expect(m?.text).toBe('star')
        await fence(pub, [star], 1)
        expect(star.on(`${root}/sport`)).toHaveLength(0)
      } finally {
        await endAll(star, pub)
      }
    })

    test('an AMQP queue bound to amq.topic with "a.#" receives MQTT "a/b" publishes; a dot inside a level shows as %2E', async () => {
      const root = uniqueId('amqp')
      const { queue } = await ch.assertQueue('', { exclusive: true })
      await ch.bindQueue(queue, 'amq.topic', `${root}.#`)
      const pub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await pub.publish(`${root}/b`, 'plain', { qos: 1 })
        await pub.publish(`${root}/v1.2`, 'dotted', { qos: 1 })
        const got = await consumeN(ch, queue, 2, { noAck: true })
        expect(got.map((m) => [m.content.toString(), m.fields.routingKey])).toEqual([
          ['plain', `${root}.b`],
          ['dotted', `${root}.v1%2E2`],
        ])
      } finally {
        await pub.end()
      }
    })

    test('an AMQP routing key with "+", "#" or "*" reaches MQTT without wildcard characters', async () => {
      const root = uniqueId('wild')
      const sub = await connectMqtt(broker.mqttUrl, { version })
      try {
        await sub.subscribe(`${root}/#`, { qos: 0 })
        ch.publish('amq.topic', `${root}.+.#`, Buffer.from('plus-hash'))
        ch.publish('amq.topic', `${root}.*`, Buffer.from('star'))
        const m = await sub.waitText('plus-hash')
        expect(m.topic).toBe(`${root}/%2B/%23`)
        expect((await sub.waitText('star')).topic).toBe(`${root}/*`)
      } finally {
        await sub.end()
      }
    })
  })
}

describe("RabbitMQ's lossy mapping (mqttTopicDotEscaping false)", () => {
  test('a dot splits a level, live and retained alike', async () => {
    const root = uniqueId('T')
    const topic = `${root}/v1.2/x`
    const plus = await connectMqtt(lossy.mqttUrl, { version: 5 })
    const split = await connectMqtt(lossy.mqttUrl, { version: 5 })
    const pub = await connectMqtt(lossy.mqttUrl, { version: 5 })
    try {
      await plus.subscribe(`${root}/+/x`, { qos: 1 })
      await split.subscribe(`${root}/v1/2/x`, { qos: 1 })
      await pub.publish(topic, 'dotted', { qos: 1, retain: true })
      // The caveat: it comes back split into levels.
      expect((await split.waitMessages(1, `${root}/v1/2/x`))[0]?.text).toBe('dotted')
      await fence(pub, [plus], 1)
      expect(plus.messages.filter((m) => m.text === 'dotted')).toHaveLength(0)

      // Retained matching agrees with live routing: "T/+/x" gets nothing, "T/v1/2/x" gets it.
      const latePlus = await connectMqtt(lossy.mqttUrl, { version: 5 })
      const lateSplit = await connectMqtt(lossy.mqttUrl, { version: 5 })
      try {
        await latePlus.subscribe(`${root}/+/x`, { qos: 1 })
        await lateSplit.subscribe(`${root}/v1/2/x`, { qos: 1 })
        const [r] = await lateSplit.waitMessages(1)
        expect([r?.text, r?.packet.retain]).toEqual(['dotted', true])
        await fence(pub, [latePlus], 1)
        expect(latePlus.messages.filter((m) => m.text === 'dotted')).toHaveLength(0)
      } finally {
        await endAll(latePlus, lateSplit)
      }
    } finally {
      await endAll(plus, split, pub)
    }
  })

  test('a topic "a*b" still arrives as "a*b", not "a+b"', async () => {
    const topic = `${uniqueId('star')}/a*b`
    const sub = await connectMqtt(lossy.mqttUrl, { version: 5 })
    const pub = await connectMqtt(lossy.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(`${topic.split('/')[0]}/#`, { qos: 1 })
      await pub.publish(topic, 'starred', { qos: 1 })
      expect((await sub.waitMessages(1))[0]?.topic).toBe(topic)
    } finally {
      await endAll(sub, pub)
    }
  })
})
