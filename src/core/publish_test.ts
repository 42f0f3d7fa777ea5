import { describe, expect, test } from 'bun:test'
import { caught, client, msg, testBroker, tick } from './testing.ts'

describe('Session.publish', () => {
  test('routes through the default exchange by queue name; unknown names are unroutable', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    expect(s.publish(msg('x', { routingKey: 'q' }))).toBe('routed')
    expect(s.publish(msg('x', { routingKey: 'other' }))).toBe('unroutable')
  })

  test('a missing exchange is not-found', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.publish(msg('x', { exchange: 'nope' })))
    expect(e.code).toBe('not-found')
    expect(e.message).toBe("no exchange 'nope' in vhost '/'")
  })

  test('bodies over maxMessageSize are refused with RabbitMQ text', () => {
    const { session: s } = client(testBroker({ maxMessageSize: 4 }))
    s.declareQueue('q')
    s.publish(msg('1234'))
    const e = caught(() => s.publish(msg('12345')))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe('message size 5 is larger than configured max size 4')
  })

  test('user_id must match the authenticated user', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('ok', { properties: { userId: 'guest' } }))
    const e = caught(() => s.publish(msg('x', { properties: { userId: 'mallory' } })))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe("user_id property set to 'mallory' but authenticated user was 'guest'")
  })

  test('an invalid expiration is refused with RabbitMQ text', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    const cases: [string, string][] = [
      ['abc', "invalid expiration 'abc': no_integer"],
      ['-5', "invalid expiration '-5': {value_negative,-5}"],
      ['10s', `invalid expiration '10s': {leftover_string,"s"}`],
      ['4294967296', "invalid expiration '4294967296': {value_too_large,4294967296}"],
    ]
    for (const [expiration, text] of cases) {
      const e = caught(() => s.publish(msg('x', { properties: { expiration } })))
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
    }
    expect(s.declareQueue('q', { passive: true }).messages).toBe(0)
  })
})

describe('publisher confirms', () => {
  test('are settled once per burst, ascending, unroutable ones included', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('1'), { confirmId: 1 })
    s.publish(msg('2', { routingKey: 'nowhere' }), { confirmId: 2 })
    s.publish(msg('3'), { confirmId: 3 })
    expect(events.settledBatches).toEqual([])
    await tick()
    expect(events.settledBatches).toEqual([[1, 2, 3]])
    expect(events.flushes).toBe(1)
    s.publish(msg('4'), { confirmId: 4 })
    await tick()
    expect(events.settledBatches).toEqual([[1, 2, 3], [4]])
  })

  test('a queue refusing the message (reject-publish) nacks it', async () => {
    const { session: s, events } = client(testBroker())
    s.declareExchange('f', 'fanout')
    s.declareQueue('open')
    s.declareQueue('full', { args: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    s.bind({ source: 'f', destination: 'open', destinationKind: 'queue', routingKey: '' })
    s.bind({ source: 'f', destination: 'full', destinationKind: 'queue', routingKey: '' })
    s.publish(msg('1', { exchange: 'f' }), { confirmId: 1 })
    s.publish(msg('2', { exchange: 'f' }), { confirmId: 2 })
    s.publish(msg('3', { exchange: 'f' }), { confirmId: 3 })
    await tick()
    expect(events.allSettled).toEqual([1])
    expect(events.allRejected).toEqual([2, 3])
    expect(s.declareQueue('open', { passive: true }).messages).toBe(3)
    expect(s.declareQueue('full', { passive: true }).messages).toBe(1)
  })

  test('publishes without confirmId are not confirmed', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('x'))
    await tick()
    expect(events.settledBatches).toEqual([])
  })
})

describe('permissions', () => {
  function restricted() {
    const broker = testBroker()
    broker.users.add('u', 'p')
    broker.permissions.set('/', 'u', { configure: '^u-', write: '^(u-|amq\\.default)', read: '^u-' })
    const admin = client(broker)
    admin.session.declareQueue('other')
    admin.session.declareExchange('other-x', 'fanout')
    return { broker, admin, user: client(broker, { user: 'u' }) }
  }

  test('configure, write and read are checked with RabbitMQ text', () => {
    const { user } = restricted()
    const s = user.session
    s.declareQueue('u-q')
    const cases: [() => unknown, string][] = [
      [() => s.declareQueue('other'), "configure access to queue 'other' in vhost '/' refused for user 'u'"],
      [() => s.deleteQueue('other'), "configure access to queue 'other' in vhost '/' refused for user 'u'"],
      [() => s.declareExchange('x', 'direct'), "configure access to exchange 'x' in vhost '/' refused for user 'u'"],
      [() => s.publish(msg('m', { exchange: 'other-x' })), "write access to exchange 'other-x' in vhost '/' refused for user 'u'"],
      [() => s.consume('other', { noAck: true }), "read access to queue 'other' in vhost '/' refused for user 'u'"],
      [() => s.get('other', { noAck: true }), "read access to queue 'other' in vhost '/' refused for user 'u'"],
      [() => s.purgeQueue('other'), "read access to queue 'other' in vhost '/' refused for user 'u'"],
      [
        () => s.bind({ source: 'other-x', destination: 'u-q', destinationKind: 'queue', routingKey: '' }),
        "read access to exchange 'other-x' in vhost '/' refused for user 'u'",
      ],
      [
        () => s.bind({ source: 'amq.direct', destination: 'other', destinationKind: 'queue', routingKey: '' }),
        "write access to queue 'other' in vhost '/' refused for user 'u'",
      ],
    ]
    for (const [fn, text] of cases) {
      const e = caught(fn)
      expect(e.code).toBe('access-refused')
      expect(e.message).toBe(text)
    }
    expect(s.publish(msg('m', { routingKey: 'u-q' }))).toBe('routed')
    // Passive declares need no permission, as in RabbitMQ.
    expect(s.declareQueue('other', { passive: true }).messages).toBe(0)
  })

  test('publishing to the default exchange checks write on amq.default', () => {
    const broker = testBroker()
    broker.users.add('ro', 'p')
    broker.permissions.set('/', 'ro', { configure: '', write: '', read: '.*' })
    const e = caught(() => client(broker, { user: 'ro' }).session.publish(msg('m')))
    expect(e.message).toBe("write access to exchange 'amq.default' in vhost '/' refused for user 'ro'")
  })

  test('a dead-letter exchange argument needs write on the exchange', () => {
    const { user } = restricted()
    const e = caught(() => user.session.declareQueue('u-dl', { args: { 'x-dead-letter-exchange': 'other-x' } }))
    expect(e.message).toBe("write access to exchange 'other-x' in vhost '/' refused for user 'u'")
  })
})
