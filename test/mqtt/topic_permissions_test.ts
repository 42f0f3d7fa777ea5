import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, type TestClient, uniqueId } from '../helpers/mqtt.ts'

// Topic permissions apply to MQTT through the core: publishes go to amq.topic with the mapped
// routing key ("a/b" → "a.b"), subscriptions bind with the mapped filter ("a/+" → "a.*").
let broker: TestBroker
const ALL = { configure: '.*', write: '.*', read: '.*' }
const NOT_AUTHORIZED = 0x87

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** The SUBACK codes; mqtt.js rejects when any is a failure and keeps the packet on the error. */
async function subackCodes(c: TestClient, filters: string[]): Promise<number[]> {
  try {
    return (await c.subscribe(filters, { qos: 1 })).map((g) => g.qos)
  } catch (error) {
    const granted = (error as { packet?: { granted?: (number | { reasonCode: number })[] } }).packet?.granted
    if (granted === undefined) throw error
    return granted.map((g) => (typeof g === 'number' ? g : g.reasonCode))
  }
}

function makeUser(write: string, read: string): string {
  const user = uniqueId('mtp')
  const b = broker.server.broker
  b.users.add(user, 'pw')
  b.permissions.set('/', user, ALL)
  b.permissions.topics.set('/', user, { exchange: 'amq.topic', write, read })
  return user
}

describe('MQTT 5.0 topic permissions', () => {
  test('a refused QoS 1 publish gets PUBACK 0x87 Not authorized; an allowed one is delivered', async () => {
    const user = makeUser('^ok\\.', '.*')
    const c = await connectMqtt(broker.mqttUrl, { version: 5, username: user, password: 'pw' })
    const watcher = await connectMqtt(broker.mqttUrl, { version: 5 })
    try {
      await watcher.subscribe('ok/#', { qos: 1 })
      const error = (await c.publish('no/x', 'refused', { qos: 1 }).then(
        () => undefined,
        (e: { code?: number }) => e,
      )) as { code?: number } | undefined
      expect(error?.code).toBe(NOT_AUTHORIZED)
      expect(c.closed).toBe(false)
      await c.publish('ok/x', 'allowed', { qos: 1 })
      await watcher.waitText('allowed')
    } finally {
      await endAll(c, watcher)
    }
  })

  test('{client_id} is expanded with the MQTT client id', async () => {
    const user = makeUser('^dev\\.{client_id}\\.', '^dev\\.{client_id}\\.')
    const clientId = uniqueId('cid')
    const c = await connectMqtt(broker.mqttUrl, { version: 5, username: user, password: 'pw', clientId })
    try {
      expect(await subackCodes(c, [`dev/${clientId}/#`, 'dev/other/#'])).toEqual([1, NOT_AUTHORIZED])
      await c.publish(`dev/${clientId}/t`, 'mine', { qos: 1 })
      await c.waitText('mine')
      const error = (await c.publish('dev/other/t', 'theirs', { qos: 1 }).then(
        () => undefined,
        (e: { code?: number }) => e,
      )) as { code?: number } | undefined
      expect(error?.code).toBe(NOT_AUTHORIZED)
    } finally {
      await c.end()
    }
  })

  test('SUBACK 0x87 for a filter whose binding key does not match read', async () => {
    const user = makeUser('.*', '^sensors\\.')
    const c = await connectMqtt(broker.mqttUrl, { version: 5, username: user, password: 'pw' })
    try {
      expect(await subackCodes(c, ['sensors/+', 'secrets/#'])).toEqual([1, NOT_AUTHORIZED])
    } finally {
      await c.end()
    }
  })
})

describe('MQTT 3.1.1 topic permissions', () => {
  test('SUBACK 0x80 Failure for a refused filter', async () => {
    const user = makeUser('.*', '^sensors\\.')
    const c = await connectMqtt(broker.mqttUrl, { version: 4, username: user, password: 'pw' })
    try {
      expect(await subackCodes(c, ['sensors/+', 'secrets/#'])).toEqual([1, 0x80])
    } finally {
      await c.end()
    }
  })

  test('a refused publish closes the connection (v3.1.1 cannot refuse one otherwise), as for a missing write permission', async () => {
    const user = makeUser('^ok\\.', '.*')
    const c = await connectMqtt(broker.mqttUrl, { version: 4, username: user, password: 'pw' })
    try {
      c.client.publish('no/x', 'refused', { qos: 0 })
      await c.waitClosed()
    } finally {
      await c.end()
    }
  })
})
