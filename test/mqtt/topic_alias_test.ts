import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import type { IPublishPacket, Packet } from 'mqtt'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { assertMqttServes, connectMqtt, endAll, uniqueId } from '../helpers/mqtt.ts'
import { PROP, PUBACK, RC, RawMqtt, prop, props, publishPacket } from '../helpers/raw_mqtt.ts'

// MQTT 5 Topic Aliases, both directions.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterEach(async () => {
  await assertMqttServes(broker.mqttUrl)
})

afterAll(async () => {
  await broker?.stop()
})

describe('MQTT 5.0 topic aliases, client to server', () => {
  test('a PUBLISH with topic and alias sets the alias; later ones with an empty topic use it', async () => {
    const topic = `alias/${uniqueId('in')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      // The server must offer aliases for a client to use any [MQTT-3.2.2-17 ff].
      expect(pub.connack.properties?.topicAliasMaximum ?? 0).toBeGreaterThanOrEqual(1)
      await sub.subscribe(topic, { qos: 1 })
      await pub.publish(topic, 'first', { qos: 1, properties: { topicAlias: 1 } })
      await pub.publish('', 'second', { qos: 1, properties: { topicAlias: 1 } })
      await pub.publish('', 'third', { qos: 0, properties: { topicAlias: 1 } })
      const got = await sub.waitMessages(3, topic)
      expect(got.map((m) => m.text)).toEqual(['first', 'second', 'third'])
    } finally {
      await endAll(pub, sub)
    }
  })

  test('an alias can be remapped to another topic', async () => {
    const a = `alias/${uniqueId('a')}`
    const b = `alias/${uniqueId('b')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe([a, b], { qos: 1 })
      await pub.publish(a, 'to a', { qos: 1, properties: { topicAlias: 1 } })
      await pub.publish(b, 'to b', { qos: 1, properties: { topicAlias: 1 } })
      await pub.publish('', 'alias now b', { qos: 1, properties: { topicAlias: 1 } })
      await sub.waitText('alias now b')
      expect(sub.on(a).map((m) => m.text)).toEqual(['to a'])
      expect(sub.on(b).map((m) => m.text)).toEqual(['to b', 'alias now b'])
    } finally {
      await endAll(pub, sub)
    }
  })

  test('mqtt.js autoAssignTopicAlias works end to end', async () => {
    const topic = `alias/${uniqueId('auto')}`
    const pub = await connectMqtt(broker.mqttUrl, { version: 5, autoAssignTopicAlias: true })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe(topic, { qos: 1 })
      for (let i = 0; i < 5; i++) await pub.publish(topic, `m${i}`, { qos: 1 })
      const got = await sub.waitMessages(5, topic)
      expect(got.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    } finally {
      await endAll(pub, sub)
    }
  })

  test('aliases are per connection: another connection with the same alias number has its own mapping [MQTT-3.3.2-7]', async () => {
    const a = `alias/${uniqueId('conn-a')}`
    const b = `alias/${uniqueId('conn-b')}`
    const pubA = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pubB = await connectMqtt(broker.mqttUrl, { version: 5 })
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await sub.subscribe([a, b], { qos: 1 })
      await pubA.publish(a, 'a1', { qos: 1, properties: { topicAlias: 1 } })
      await pubB.publish(b, 'b1', { qos: 1, properties: { topicAlias: 1 } })
      await pubA.publish('', 'a2', { qos: 1, properties: { topicAlias: 1 } })
      await pubB.publish('', 'b2', { qos: 1, properties: { topicAlias: 1 } })
      await sub.waitText('b2')
      expect(sub.on(a).map((m) => m.text)).toEqual(['a1', 'a2'])
      expect(sub.on(b).map((m) => m.text)).toEqual(['b1', 'b2'])
    } finally {
      await endAll(pubA, pubB, sub)
    }
  })

  test('alias 0 is a protocol error: DISCONNECT 0x94 Topic Alias invalid [MQTT-3.3.2-8]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      await raw.connect({ clientId: uniqueId('alias0') })
      raw.write(publishPacket({ version: 5, topic: 'alias/zero', qos: 1, packetId: 1, properties: props(prop(PROP.topicAlias, 0)) }))
      expect(await raw.expectDisconnect()).toBe(RC.topicAliasInvalid)
    } finally {
      raw.destroy()
    }
  })

  test('an alias above the server Topic Alias Maximum: DISCONNECT 0x94 Topic Alias invalid [MQTT-3.3.2-9]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('aliasmax') })
      const max = Number(connack.properties?.values.get(PROP.topicAliasMaximum) ?? 0)
      raw.write(publishPacket({ version: 5, topic: 'alias/over', qos: 1, packetId: 1, properties: props(prop(PROP.topicAlias, max + 1)) }))
      expect(await raw.expectDisconnect()).toBe(RC.topicAliasInvalid)
    } finally {
      raw.destroy()
    }
  })

  test('an empty topic with an alias never set is a protocol error: DISCONNECT 0x82 (MQTT 5.0 3.3.2.3.4)', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      await raw.connect({ clientId: uniqueId('aliasunset') })
      raw.write(publishPacket({ version: 5, topic: '', qos: 1, packetId: 1, properties: props(prop(PROP.topicAlias, 1)) }))
      expect(await raw.expectDisconnect()).toBe(RC.protocolError)
    } finally {
      raw.destroy()
    }
  })

  test('a set alias works on the raw wire too (the server, not mqtt.js, resolves it)', async () => {
    const topic = `alias/${uniqueId('raw')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      await sub.subscribe(topic, { qos: 1 })
      await raw.connect({ clientId: uniqueId('aliasraw') })
      raw.write(publishPacket({ version: 5, topic, qos: 1, packetId: 1, payload: 'set', properties: props(prop(PROP.topicAlias, 1)) }))
      await raw.expect(PUBACK)
      raw.write(publishPacket({ version: 5, topic: '', qos: 1, packetId: 2, payload: 'use', properties: props(prop(PROP.topicAlias, 1)) }))
      await raw.expect(PUBACK)
      const got = await sub.waitMessages(2, topic)
      expect(got.map((m) => m.text)).toEqual(['set', 'use'])
    } finally {
      raw.destroy()
      await sub.end()
    }
  })
})

describe('MQTT 5.0 topic aliases, server to client', () => {
  test('with a client Topic Alias Maximum the server uses aliases within it, and topics still resolve', async () => {
    const topic = `alias/${uniqueId('out')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5, properties: { topicAliasMaximum: 4 } })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const wire: IPublishPacket[] = []
    sub.client.on('packetreceive', (p: Packet) => {
      // mqtt.js resolves the alias in place after this event, so copy what was on the wire.
      if (p.cmd === 'publish') wire.push({ ...p, properties: { ...p.properties } })
    })
    try {
      await sub.subscribe(topic, { qos: 1 })
      for (let i = 0; i < 4; i++) await pub.publish(topic, `m${i}`, { qos: 1 })
      const got = await sub.waitMessages(4, topic)
      expect(got.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3'])
      const aliases = wire.map((p) => p.properties?.topicAlias).filter((a) => a !== undefined)
      // The server used aliases, never beyond the client's maximum [MQTT-3.3.2-11] ...
      expect(aliases.length).toBeGreaterThan(0)
      for (const a of aliases) {
        expect(a).toBeGreaterThanOrEqual(1)
        expect(a).toBeLessThanOrEqual(4)
      }
      // ... and sent the repeated topic as an empty name plus alias at least once.
      expect(wire.some((p) => p.topic === '' && p.properties?.topicAlias !== undefined)).toBe(true)
    } finally {
      await endAll(sub, pub)
    }
  })

  test('without a client Topic Alias Maximum the server sends no aliases [MQTT-3.1.2-27]', async () => {
    const topic = `alias/${uniqueId('none')}`
    const sub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const pub = await connectMqtt(broker.mqttUrl, { version: 5 })
    const wire: IPublishPacket[] = []
    sub.client.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'publish') wire.push({ ...p, properties: { ...p.properties } })
    })
    try {
      await sub.subscribe(topic, { qos: 1 })
      for (let i = 0; i < 3; i++) await pub.publish(topic, `m${i}`, { qos: 1 })
      await sub.waitMessages(3, topic)
      expect(wire.every((p) => p.properties?.topicAlias === undefined && p.topic === topic)).toBe(true)
    } finally {
      await endAll(sub, pub)
    }
  })
})
