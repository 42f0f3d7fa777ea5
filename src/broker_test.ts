import { describe, expect, test } from 'bun:test'
import type { BrokerError } from './api.ts'
import { isLoopback } from './broker.ts'
import { caught, client, msg, testBroker, tick } from './core/testing.ts'

const connectInfo = (user: string, vhost = '/') => ({
  protocol: 'amqp' as const,
  vhost,
  user: { name: user, tags: [] },
  remoteAddress: '127.0.0.1',
})

describe('Broker.authenticate', () => {
  test('accepts the default user from loopback with its tags', () => {
    const broker = testBroker()
    expect(broker.authenticate({ username: 'guest', password: 'guest', remoteAddress: '127.0.0.1' })).toEqual({
      name: 'guest',
      tags: ['administrator'],
    })
    broker.authenticate({ username: 'guest', password: 'guest', remoteAddress: '::ffff:127.0.0.1' })
  })

  test('refuses bad credentials and loopback-only users from elsewhere', () => {
    const broker = testBroker()
    let e = caught(() => broker.authenticate({ username: 'guest', password: 'nope', remoteAddress: '127.0.0.1' }))
    expect(e.code).toBe('access-refused')
    e = caught(() => broker.authenticate({ username: 'who', password: 'x', remoteAddress: '127.0.0.1' }))
    expect(e.code).toBe('access-refused')
    e = caught(() => broker.authenticate({ username: 'guest', password: 'guest', remoteAddress: '10.1.2.3' }))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("user 'guest' can only connect via localhost")
    broker.users.add('remote', 'pw')
    broker.authenticate({ username: 'remote', password: 'pw', remoteAddress: '10.1.2.3' })
  })

  test('isLoopback knows 127/8 and ::1', () => {
    expect(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true)
    expect(['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1'].some(isLoopback)).toBe(false)
  })
})

describe('Broker.connect', () => {
  test('a missing vhost and a user without permissions are not-allowed (connection scope)', () => {
    const broker = testBroker()
    let e = caught(() => broker.connect(connectInfo('guest', '/nope')))
    expect([e.code, e.scope, e.message]).toEqual(['not-allowed', 'connection', 'vhost /nope not found'])
    broker.users.add('u', 'p')
    e = caught(() => broker.connect(connectInfo('u')))
    expect(e.message).toBe("access to vhost '/' refused for user 'u'")
    broker.addVhost('/other')
    broker.permissions.set('/other', 'u', { configure: '.*', write: '.*', read: '.*' })
    const c = broker.connect(connectInfo('u', '/other'))
    expect(c.vhost).toBe('/other')
  })

  test('maxConnections refuses the connection over the limit until one closes', () => {
    const broker = testBroker({ maxConnections: 2 })
    const a = broker.connect(connectInfo('guest'))
    broker.connect(connectInfo('guest'))
    const e = caught(() => broker.connect(connectInfo('guest')))
    expect([e.code, e.message]).toEqual(['not-allowed', 'connection refused: node connection limit (2) is reached'])
    expect(broker.connectionCount).toBe(2)
    a.close()
    expect(broker.connectionCount).toBe(1)
    broker.connect(connectInfo('guest'))
  })

  test('vhosts are separate namespaces', () => {
    const broker = testBroker()
    broker.addVhost('v2')
    broker.permissions.set('v2', 'guest', { configure: '.*', write: '.*', read: '.*' })
    const a = client(broker)
    const b = client(broker, { vhost: 'v2' })
    a.session.declareQueue('q')
    expect(caught(() => b.session.declareQueue('q', { passive: true })).message).toBe("no queue 'q' in vhost 'v2'")
  })
})

describe('Broker.shutdown', () => {
  test('forced-closes every connection with connection-forced and requeues their deliveries', async () => {
    const broker = testBroker()
    const a = client(broker)
    a.session.declareQueue('q')
    a.session.publish(msg('x'))
    a.session.get('q', { noAck: false })
    const errors: BrokerError[] = []
    a.connection.onForcedClose((e) => errors.push(e))
    await broker.shutdown()
    expect(errors.map((e) => [e.code, e.scope, e.message])).toEqual([
      ['connection-forced', 'connection', "broker forced connection closure with reason 'shutdown'"],
    ])
    expect(broker.connectionCount).toBe(0)
    expect(caught(() => broker.connect(connectInfo('guest'))).code).toBe('not-allowed')
  })
})

describe('memory alarm', () => {
  test('blocks above the high watermark and unblocks below it', async () => {
    const broker = testBroker({ memoryHighWatermark: 100 })
    const changes: [boolean, string][] = []
    broker.onBlocked((blocked, reason) => changes.push([blocked, reason]))
    const { session: s } = client(broker)
    s.declareQueue('q')
    s.publish(msg('x'.repeat(60)))
    expect(broker.blocked).toBe(false)
    s.publish(msg('x'.repeat(60)))
    expect(broker.blocked).toBe(true)
    // Unacked bodies are still held.
    const d = s.get('q', { noAck: false })!.delivery
    expect(broker.blocked).toBe(true)
    s.settle(d.id, 'ack')
    expect(broker.blocked).toBe(false)
    expect(changes).toEqual([
      [true, 'memory'],
      [false, 'memory'],
    ])
    s.purgeQueue('q')
    expect(broker.heldBytes).toBe(0)
  })

  test('held bytes go back to zero after deliveries, deletes and closes', async () => {
    const broker = testBroker()
    const c = client(broker)
    c.session.declareExchange('f', 'fanout')
    for (const q of ['a', 'b']) {
      c.session.declareQueue(q)
      c.session.bind({ source: 'f', destination: q, destinationKind: 'queue', routingKey: '' })
    }
    c.session.consume('a', { noAck: false })
    await tick()
    for (let i = 0; i < 10; i++) c.session.publish(msg('12345', { exchange: 'f' }))
    expect(broker.heldBytes).toBe(100)
    c.session.deleteQueue('b')
    expect(broker.heldBytes).toBe(50)
    c.session.settle({ upTo: 0 }, 'ack')
    expect(broker.heldBytes).toBe(0)
  })
})

describe('disk alarm', () => {
  test('blocks while either alarm is on; the reason is the oldest alarm in force', async () => {
    let free = 1000
    const broker = testBroker({ memoryHighWatermark: 100, diskFreeLimit: 500, diskFree: () => free, diskCheckIntervalMs: 5 })
    const changes: [boolean, string][] = []
    const next = () => new Promise<void>((resolve) => {
      const stop = broker.onBlocked(() => {
        stop()
        resolve()
      })
    })
    broker.onBlocked((blocked, reason) => changes.push([blocked, reason]))
    try {
      let changed = next()
      free = 100
      await changed
      expect(broker.blocked).toBe(true)
      expect(broker.blockedReason).toBe('disk')
      // The memory alarm going on too changes nothing; the disk alarm clearing names memory.
      const { session: s } = client(broker)
      s.declareQueue('q')
      s.publish(msg('x'.repeat(200)))
      changed = next()
      free = 1000
      await changed
      expect(broker.blocked).toBe(true)
      expect(broker.blockedReason).toBe('memory')
      s.purgeQueue('q')
      expect(broker.blocked).toBe(false)
      expect(changes).toEqual([
        [true, 'disk'],
        [true, 'memory'],
        [false, 'memory'],
      ])
    } finally {
      await broker.shutdown()
    }
  })
})

describe('Connection.keyValue', () => {
  test('is shared per namespace across connections', async () => {
    const broker = testBroker()
    const a = client(broker)
    await a.connection.keyValue('mqtt.retained').set('t/1', new Uint8Array([1]))
    const b = client(broker)
    expect(b.connection.keyValue('mqtt.retained').get('t/1')).toEqual(new Uint8Array([1]))
    expect([...b.connection.keyValue('mqtt.retained').entries('t/')].length).toBe(1)
    expect(b.connection.keyValue('other').get('t/1')).toBeUndefined()
    await b.connection.keyValue('mqtt.retained').set('t/1', null)
    expect(a.connection.keyValue('mqtt.retained').get('t/1')).toBeUndefined()
  })
})
