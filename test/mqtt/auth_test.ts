import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, closeQuietly, consumeN } from '../helpers/amqp.ts'
import { VERSIONS, connectMqtt, connectRefused, endAll, fence, uniqueId } from '../helpers/mqtt.ts'
import { CONNACK, RC, RawMqtt, connectPacket, decodeConnack } from '../helpers/raw_mqtt.ts'

// Authentication against Warren's users and vhost selection as RabbitMQ does it: the username
// "vhost:user" picks the vhost, otherwise the configured default vhost ("/").
let broker: TestBroker
const ALL = { configure: '.*', write: '.*', read: '.*' }

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** A vhost that only this test uses, with guest (and optionally `user`) granted everything. */
function makeVhost(users: string[] = ['guest']): string {
  const vhost = uniqueId('vh')
  broker.server.broker.addVhost(vhost)
  for (const user of users) broker.server.broker.permissions.set(vhost, user, ALL)
  return vhost
}

for (const version of VERSIONS) {
  const name = version === 5 ? '5.0' : '3.1.1'
  // v3.1.1 return codes [MQTT-3.2.2.3] and their v5 reason codes [MQTT-3.2.2.2].
  const BAD_CREDENTIALS = version === 5 ? RC.badUserNameOrPassword : 4
  const NOT_AUTHORIZED = version === 5 ? RC.notAuthorized : 5

  describe(`MQTT ${name} authentication`, () => {
    test('guest/guest from loopback is accepted', async () => {
      const c = await connectMqtt(broker.mqttUrl, { version, username: 'guest', password: 'guest' })
      expect(c.closed).toBe(false)
      await c.end()
    })

    test(`a wrong password is refused with ${version === 5 ? '0x86 Bad User Name or Password' : 'return code 4'}, then close`, async () => {
      expect(await connectRefused(broker.mqttUrl, { version, username: 'guest', password: 'wrong' })).toBe(BAD_CREDENTIALS)
    })

    test(`an unknown user is refused with ${version === 5 ? '0x86' : 'return code 4'}`, async () => {
      expect(await connectRefused(broker.mqttUrl, { version, username: uniqueId('nobody'), password: 'x' })).toBe(BAD_CREDENTIALS)
    })

    test(`a user without access to the vhost is refused with ${version === 5 ? '0x87 Not authorized' : 'return code 5'}`, async () => {
      const user = uniqueId('noperm')
      broker.server.broker.users.add(user, 'secret')
      expect(await connectRefused(broker.mqttUrl, { version, username: user, password: 'secret' })).toBe(NOT_AUTHORIZED)
    })

    test('"vhost:user" with an unknown vhost is refused (RabbitMQ: bad credentials)', async () => {
      const refused = await connectRefused(broker.mqttUrl, { version, username: `${uniqueId('novh')}:guest`, password: 'guest' })
      // RabbitMQ answers 4 / 0x86; "not authorized" is an acceptable reading of the same fault.
      expect([BAD_CREDENTIALS, NOT_AUTHORIZED]).toContain(refused)
    })

    test('"vhost:user" connects into that vhost: MQTT and AMQP meet there and nowhere else', async () => {
      const vhost = makeVhost()
      const topic = `vh/${uniqueId('t')}`
      const inVhost = await connectMqtt(broker.mqttUrl, { version, username: `${vhost}:guest`, password: 'guest' })
      const inDefault = await connectMqtt(broker.mqttUrl, { version })
      const { conn } = await amqplibConnect(`${broker.amqpUrl}/${encodeURIComponent(vhost)}`)
      try {
        const ch = await conn.createChannel()
        const { queue } = await ch.assertQueue('', { exclusive: true })
        await ch.bindQueue(queue, 'amq.topic', topic.replaceAll('/', '.'))
        await inVhost.subscribe(topic, { qos: 1 })
        await inDefault.subscribe(topic, { qos: 1 })
        await inVhost.publish(topic, 'inside', { qos: 1 })
        await inVhost.waitMessages(1, topic)
        const [amqpMsg] = await consumeN(ch, queue, 1, { noAck: true })
        expect(amqpMsg?.content.toString()).toBe('inside')
        // The same topic in "/" never sees the other vhost's message.
        await fence(inDefault, [inDefault], 1)
        expect(inDefault.on(topic)).toHaveLength(0)
      } finally {
        await closeQuietly(conn)
        await endAll(inVhost, inDefault)
      }
    })

    test('retained messages are kept per vhost', async () => {
      const vhost = makeVhost()
      const topic = `vhret/${uniqueId('t')}`
      const inVhost = await connectMqtt(broker.mqttUrl, { version, username: `${vhost}:guest`, password: 'guest' })
      const inDefault = await connectMqtt(broker.mqttUrl, { version })
      try {
        await inVhost.publish(topic, 'vhost only', { qos: 1, retain: true })
        await inDefault.subscribe(topic, { qos: 1 })
        await inDefault.publish(topic, 'marker', { qos: 1 })
        await inDefault.waitText('marker')
        expect(inDefault.on(topic).map((m) => m.text)).toEqual(['marker'])
        const late = await connectMqtt(broker.mqttUrl, { version, username: `${vhost}:guest`, password: 'guest' })
        await late.subscribe(topic, { qos: 1 })
        const m = await late.waitText('vhost only')
        expect(m.packet.retain).toBe(true)
        await late.end()
      } finally {
        await endAll(inVhost, inDefault)
      }
    })

    test('"vhost:user" authenticates the user part with its own password', async () => {
      const user = uniqueId('dev')
      broker.server.broker.users.add(user, 'pw-dev')
      const vhost = makeVhost([user])
      const ok = await connectMqtt(broker.mqttUrl, { version, username: `${vhost}:${user}`, password: 'pw-dev' })
      await ok.end()
      expect(await connectRefused(broker.mqttUrl, { version, username: `${vhost}:${user}`, password: 'nope' })).toBe(BAD_CREDENTIALS)
    })
  })
}

describe('anonymous connections', () => {
  for (const version of VERSIONS) {
    test(`v${version}: without a username the client logs in as the default user (mqttAllowAnonymous, default on)`, async () => {
      const c = await connectMqtt(broker.mqttUrl, { version, username: undefined, password: undefined })
      try {
        const topic = `anon/${uniqueId('t')}`
        await c.subscribe(topic, { qos: 1 })
        await c.publish(topic, 'anonymous', { qos: 1 })
        await c.waitText('anonymous')
      } finally {
        await c.end()
      }
    })
  }

  test('v5: a password without a user name is allowed (MQTT 5.0 3.1.2.9) and logs in anonymously', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 5)
    try {
      const connack = await raw.connect({ clientId: uniqueId('pwonly'), username: undefined, password: 'some-token' })
      expect(connack.code).toBe(0)
      expect(await raw.subscribe(1, [{ filter: `anon/${uniqueId('t')}`, qos: 1 }])).toEqual([1])
    } finally {
      raw.destroy()
    }
  })

  test('v3.1.1: a password without a user name closes the connection [MQTT-3.1.2-22]', async () => {
    const raw = await RawMqtt.open(broker.mqttPort, 4)
    try {
      raw.write(connectPacket({ version: 4, clientId: uniqueId('pwonly'), password: 'secret' }))
      await raw.waitClosed()
      expect(raw.queued.map((p) => p.type)).not.toContain(CONNACK)
    } finally {
      raw.destroy()
    }
  })

  test('with mqttAllowAnonymous false a CONNECT without a username is refused', async () => {
    const b = await startBroker({ mqttAllowAnonymous: false })
    try {
      // A v5 password alone is no login either.
      const raw = await RawMqtt.open(b.mqttPort, 5)
      try {
        raw.write(connectPacket({ version: 5, clientId: uniqueId('pwonly'), password: 'guest' }))
        expect(decodeConnack(await raw.expect(CONNACK), 5).code).toBe(RC.notAuthorized)
        await raw.waitClosed()
      } finally {
        raw.destroy()
      }
      const v4 = await connectRefused(b.mqttUrl, { version: 4, username: undefined, password: undefined })
      expect([4, 5]).toContain(v4)
      const v5 = await connectRefused(b.mqttUrl, { version: 5, username: undefined, password: undefined })
      expect([RC.badUserNameOrPassword, RC.notAuthorized] as number[]).toContain(v5)
      // Credentials still work.
      const ok = await connectMqtt(b.mqttUrl, { version: 5 })
      await ok.end()
    } finally {
      await b.stop()
    }
  })
})

describe('default vhost', () => {
  test('mqttDefaultVhost puts plain usernames into the configured vhost', async () => {
    const vhost = 'mqtt-devices'
    const b = await startBroker({ mqttDefaultVhost: vhost })
    try {
      b.server.broker.addVhost(vhost)
      b.server.broker.permissions.set(vhost, 'guest', ALL)
      const topic = `dv/${uniqueId('t')}`
      const { conn } = await amqplibConnect(`${b.amqpUrl}/${encodeURIComponent(vhost)}`)
      const c = await connectMqtt(b.mqttUrl, { version: 5 })
      try {
        const ch = await conn.createChannel()
        const { queue } = await ch.assertQueue('', { exclusive: true })
        await ch.bindQueue(queue, 'amq.topic', topic.replaceAll('/', '.'))
        await c.publish(topic, 'to the default vhost', { qos: 1 })
        const [m] = await consumeN(ch, queue, 1, { noAck: true })
        expect(m?.content.toString()).toBe('to the default vhost')
      } finally {
        await c.end()
        await closeQuietly(conn)
      }
    } finally {
      await b.stop()
    }
  })
})
