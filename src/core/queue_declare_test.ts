import { describe, expect, test } from 'bun:test'
import { caught, client, msg, session, testBroker, tick } from './testing.ts'

describe('queue.declare', () => {
  test('creates a queue and reports messages and consumers', async () => {
    const { session: s } = client(testBroker())
    expect(s.declareQueue('q', { durable: true })).toEqual({ name: 'q', messages: 0, consumers: 0 })
    s.publish(msg('a'))
    s.consume('q', { noAck: false, prefetch: 0 })
    expect(s.declareQueue('q', { durable: true })).toEqual({ name: 'q', messages: 1, consumers: 1 })
    await tick()
    expect(s.declareQueue('q', { durable: true })).toEqual({ name: 'q', messages: 0, consumers: 1 })
  })

  test('an empty name gets a server-generated amq.gen- name', () => {
    const { session: s } = client(testBroker())
    const { name } = s.declareQueue('')
    expect(name).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/)
    expect(s.declareQueue('').name).not.toBe(name)
  })

  test('the amq. prefix is reserved', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.declareQueue('amq.mine'))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("queue name 'amq.mine' contains reserved prefix 'amq.*'")
  })

  test('passive declare of a missing queue is not-found', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.declareQueue('nope', { passive: true }))
    expect(e.code).toBe('not-found')
    expect(e.message).toBe("no queue 'nope' in vhost '/'")
  })

  test('redeclare must be equivalent (durable, auto_delete, arguments)', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: false, args: { 'x-message-ttl': 1000 } })
    s.declareQueue('q', { durable: false, args: { 'x-message-ttl': 1000, 'x-unrelated': 'ignored' } })
    s.declareQueue('q', { args: { 'x-message-ttl': { kind: 'typed-number', type: 's', value: 1000 }, 'x-queue-type': 'classic' } })
    const cases: [() => unknown, string][] = [
      [
        () => s.declareQueue('q', { durable: true, args: { 'x-message-ttl': 1000 } }),
        "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'",
      ],
      [
        () => s.declareQueue('q', { autoDelete: true, args: { 'x-message-ttl': 1000 } }),
        "inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'",
      ],
      [
        () => s.declareQueue('q', { args: { 'x-message-ttl': 2000 } }),
        "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '2000' of type 'signedint' but current is the value '1000' of type 'signedint'",
      ],
      [
        () => s.declareQueue('q'),
        "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '1000' of type 'signedint'",
      ],
      [
        () => s.declareQueue('q', { args: { 'x-message-ttl': 1000, 'x-max-priority': { kind: 'typed-number', type: 'b', value: 2 } } }),
        "inequivalent arg 'x-max-priority' for queue 'q' in vhost '/': received the value '2' of type 'byte' but current is none",
      ],
    ]
    for (const [fn, text] of cases) {
      const e = caught(fn)
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
    }
  })

  test('a durable exclusive queue is not durable', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, exclusive: true })
    s.declareQueue('q', { durable: false, exclusive: true })
  })
})

describe('queue arguments', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ 'x-message-ttl': -1 }, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}"],
    [{ 'x-message-ttl': 'ten' }, `invalid arg 'x-message-ttl' for queue 'q' in vhost '/': "expected integer, got longstr"`],
    [{ 'x-message-ttl': 4294967296 }, "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_too_large,4294967296}"],
    [{ 'x-expires': 0 }, "invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}"],
    [{ 'x-max-length': -5 }, "invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-5}"],
    [{ 'x-max-length-bytes': 1.5 }, `invalid arg 'x-max-length-bytes' for queue 'q' in vhost '/': "expected integer, got double"`],
    [{ 'x-overflow': 'drop-tail' }, "invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"],
    [{ 'x-max-priority': 256 }, "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,256}"],
    [{ 'x-single-active-consumer': 1 }, "invalid arg 'x-single-active-consumer' for queue 'q' in vhost '/': {unacceptable_type,signedint}"],
    [
      { 'x-dead-letter-routing-key': 'rk' },
      "invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': routing_key_but_no_dlx_defined",
    ],
    [{ 'x-dead-letter-exchange': 7 }, "invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'"],
    [{ 'x-queue-type': 'stream2' }, `invalid arg 'x-queue-type' for queue 'q' in vhost '/': "unsupported queue type 'stream2'"`],
    [{ 'x-delivery-limit': 5 }, "invalid arg 'x-delivery-limit' for queue 'q' in vhost '/' of queue type rabbit_classic_queue"],
  ]
  for (const [args, text] of cases) {
    test(`refuses ${JSON.stringify(args)}`, () => {
      const { session: s } = client(testBroker())
      const e = caught(() => s.declareQueue('q', { args: args as never }))
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
      expect(caught(() => s.declareQueue('q', { passive: true })).code).toBe('not-found')
    })
  }

  test('accepts every valid classic argument', () => {
    const { session: s } = client(testBroker())
    s.declareExchange('dlx', 'fanout')
    s.declareQueue('q', {
      args: {
        'x-message-ttl': 0,
        'x-expires': 60000,
        'x-max-length': 0,
        'x-max-length-bytes': 10,
        'x-overflow': 'reject-publish-dlx',
        'x-dead-letter-exchange': 'dlx',
        'x-dead-letter-routing-key': 'rk',
        'x-max-priority': 255,
        'x-single-active-consumer': true,
        'x-queue-type': 'classic',
        'x-queue-mode': 'lazy',
        'x-queue-version': 2,
      },
    })
  })
})

describe('exclusive queues', () => {
  test('are locked to the declaring connection', () => {
    const broker = testBroker()
    const a = client(broker)
    const b = client(broker)
    a.session.declareQueue('ex', { exclusive: true })
    a.session.publish(msg('m', { routingKey: 'ex' }))
    const text =
      "cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally declared on another " +
      'connection or the exclusive property value does not match that of the original declaration.'
    for (const fn of [
      () => b.session.declareQueue('ex', { exclusive: true }),
      () => b.session.declareQueue('ex'),
      () => b.session.declareQueue('ex', { passive: true }),
      () => b.session.consume('ex', { noAck: true }),
      () => b.session.get('ex', { noAck: true }),
      () => b.session.purgeQueue('ex'),
      () => b.session.deleteQueue('ex'),
      () => b.session.bind({ source: 'amq.direct', destination: 'ex', destinationKind: 'queue', routingKey: 'x' }),
    ]) {
      const e = caught(fn)
      expect(e.code).toBe('resource-locked')
      expect(e.message).toBe(text)
    }
    // Other sessions of the owning connection may use it; publishing is open to everyone.
    const second = session(a)
    expect(second.session.declareQueue('ex', { exclusive: true }).messages).toBe(1)
    expect(b.session.publish(msg('m2', { routingKey: 'ex' }))).toBe('routed')
  })

  test('the owner redeclaring without exclusive is refused (strict check)', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('ex', { exclusive: true })
    expect(caught(() => s.declareQueue('ex')).code).toBe('resource-locked')
    s.declareQueue('shared')
    expect(caught(() => s.declareQueue('shared', { exclusive: true })).code).toBe('resource-locked')
  })

  test('are deleted when the owner closes', () => {
    const broker = testBroker()
    const a = client(broker)
    a.session.declareQueue('ex', { exclusive: true })
    a.connection.close()
    const b = client(broker)
    expect(caught(() => b.session.declareQueue('ex', { passive: true })).code).toBe('not-found')
    b.session.declareQueue('ex', { exclusive: true })
  })
})

describe('auto-delete queues', () => {
  test('go when the last consumer cancels, not before they had one', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('ad', { autoDelete: true })
    s.declareQueue('ad', { autoDelete: true, passive: true })
    const t1 = s.consume('ad', { noAck: true })
    const t2 = s.consume('ad', { noAck: true })
    s.cancel(t1)
    s.declareQueue('ad', { passive: true })
    s.cancel(t2)
    await tick()
    expect(caught(() => s.declareQueue('ad', { passive: true })).code).toBe('not-found')
  })

  test('go when the consuming session closes', () => {
    const c = client(testBroker())
    const other = session(c)
    other.session.declareQueue('ad', { autoDelete: true })
    other.session.consume('ad', { noAck: false })
    other.session.close()
    expect(caught(() => c.session.declareQueue('ad', { passive: true })).code).toBe('not-found')
  })
})

describe('queue.delete and queue.purge', () => {
  test('delete returns the ready count; missing queue is 0', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('1'))
    s.publish(msg('2'))
    expect(s.deleteQueue('q')).toBe(2)
    expect(s.deleteQueue('q')).toBe(0)
  })

  test('if-unused and if-empty', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    const tag = s.consume('q', { noAck: false })
    let e = caught(() => s.deleteQueue('q', { ifUnused: true }))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe("queue 'q' in vhost '/' in use")
    s.cancel(tag)
    s.publish(msg('1'))
    e = caught(() => s.deleteQueue('q', { ifEmpty: true }))
    expect(e.message).toBe("queue 'q' in vhost '/' not empty")
    expect(s.deleteQueue('q', { ifUnused: true })).toBe(1)
  })

  test('purge drops ready messages, not unacked ones', () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    for (const b of ['1', '2', '3']) s.publish(msg(b))
    const got = s.get('q', { noAck: false })!
    expect(s.purgeQueue('q')).toBe(2)
    s.settle(got.delivery.id, 'requeue')
    expect(s.declareQueue('q', { passive: true }).messages).toBe(1)
    expect(events.deliveries).toEqual([])
    expect(caught(() => s.purgeQueue('nope')).code).toBe('not-found')
  })

  test('deleting a queue cancels its consumers on every session', () => {
    const c = client(testBroker())
    const other = session(c)
    c.session.declareQueue('q')
    const mine = c.session.consume('q', { noAck: true, tag: 'mine' })
    const theirs = other.session.consume('q', { noAck: true, tag: 'theirs' })
    other.session.deleteQueue('q')
    expect(c.events.cancelled).toEqual([mine])
    expect(other.events.cancelled).toEqual([theirs])
    expect(c.session.cancel(mine)).toBe(false)
  })
})
