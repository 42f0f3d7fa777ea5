import { describe, expect, test } from 'bun:test'
import { caught, client, msg, testBroker } from './testing.ts'

describe('exchange.declare', () => {
  test('predeclared amq.* exchanges exist and redeclaring them with equal params is fine', () => {
    const { session } = client(testBroker())
    for (const [name, type] of [
      ['amq.direct', 'direct'],
      ['amq.fanout', 'fanout'],
      ['amq.topic', 'topic'],
      ['amq.headers', 'headers'],
      ['amq.match', 'headers'],
    ] as const) {
      session.declareExchange(name, type, { passive: true })
      session.declareExchange(name, type, { durable: true })
    }
  })

  test('creating a name with the amq. prefix is refused', () => {
    const { session } = client(testBroker())
    const e = caught(() => session.declareExchange('amq.custom', 'direct'))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("exchange name 'amq.custom' contains reserved prefix 'amq.*'")
  })

  test('the default exchange cannot be declared, passively declared or deleted', () => {
    const { session } = client(testBroker())
    for (const fn of [
      () => session.declareExchange('', 'direct'),
      () => session.declareExchange('', 'direct', { passive: true }),
      () => session.deleteExchange(''),
    ]) {
      const e = caught(fn)
      expect(e.code).toBe('access-refused')
      expect(e.message).toBe('operation not permitted on the default exchange')
    }
  })

  test('system exchanges cannot be deleted', () => {
    const { session } = client(testBroker())
    const e = caught(() => session.deleteExchange('amq.direct'))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("deletion of system exchange 'amq.direct' in vhost '/' not allowed")
  })

  test('an unknown type fails with precondition-failed, as RabbitMQ 4', () => {
    const { session } = client(testBroker())
    const e = caught(() => session.declareExchange('x', 'x-nope'))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe("unknown exchange type 'x-nope'")
  })

  test("a type that is an Erlang atom (\"none\", \"\") is an invalid type, as RabbitMQ words it", () => {
    const { session } = client(testBroker())
    const e = caught(() => session.declareExchange('x', 'none'))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe("invalid exchange type 'none'")
    expect(caught(() => session.declareExchange('x', '')).message).toBe("invalid exchange type ''")
  })

  test('passive declare of a missing exchange is not-found', () => {
    const { session } = client(testBroker())
    const e = caught(() => session.declareExchange('missing', 'direct', { passive: true }))
    expect(e.code).toBe('not-found')
    expect(e.message).toBe("no exchange 'missing' in vhost '/'")
    expect(e.scope).toBe('session')
  })

  test('redeclare must be equivalent in type, durable, auto_delete, internal and alternate-exchange', () => {
    const { session } = client(testBroker())
    session.declareExchange('x', 'direct', { durable: false, args: { 'alternate-exchange': 'ae' } })
    session.declareExchange('x', 'direct', { durable: false, args: { 'alternate-exchange': 'ae', other: 1 } })
    const cases: [() => void, string][] = [
      [
        () => session.declareExchange('x', 'direct', { durable: true, args: { 'alternate-exchange': 'ae' } }),
        "inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
      ],
      [
        () => session.declareExchange('x', 'fanout'),
        "inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'",
      ],
      [
        () => session.declareExchange('x', 'direct', { autoDelete: true, args: { 'alternate-exchange': 'ae' } }),
        "inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
      ],
      [
        () => session.declareExchange('x', 'direct', { internal: true, args: { 'alternate-exchange': 'ae' } }),
        "inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
      ],
      [
        () => session.declareExchange('x', 'direct'),
        "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received none but current is the value 'ae' of type 'longstr'",
      ],
    ]
    for (const [fn, text] of cases) {
      const e = caught(fn)
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
    }
  })

  test('an alternate-exchange argument that is not a string is refused', () => {
    const { session } = client(testBroker())
    const e = caught(() => session.declareExchange('x', 'direct', { args: { 'alternate-exchange': 5 } }))
    expect(e.message).toBe("invalid type 'signedint' for arg 'alternate-exchange' in exchange 'x' in vhost '/'")
  })
})

describe('exchange.delete', () => {
  test('deleting a missing exchange succeeds', () => {
    const { session } = client(testBroker())
    session.deleteExchange('nope')
  })

  test('if-unused refuses an exchange with bindings', () => {
    const { session } = client(testBroker())
    session.declareExchange('x', 'fanout')
    session.declareQueue('q')
    session.bind({ source: 'x', destination: 'q', destinationKind: 'queue', routingKey: '' })
    const e = caught(() => session.deleteExchange('x', { ifUnused: true }))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe("exchange 'x' in vhost '/' in use")
    session.unbind({ source: 'x', destination: 'q', destinationKind: 'queue', routingKey: '' })
    session.deleteExchange('x', { ifUnused: true })
    expect(caught(() => session.declareExchange('x', 'fanout', { passive: true })).code).toBe('not-found')
  })

  test('deleting an exchange removes the bindings to and from it', () => {
    const { session } = client(testBroker())
    session.declareExchange('a', 'fanout')
    session.declareExchange('b', 'fanout')
    session.declareQueue('q')
    session.bind({ source: 'a', destination: 'b', destinationKind: 'exchange', routingKey: '' })
    session.bind({ source: 'b', destination: 'q', destinationKind: 'queue', routingKey: '' })
    expect(session.publish(msg('1', { exchange: 'a' }))).toBe('routed')
    session.deleteExchange('b')
    expect(session.publish(msg('2', { exchange: 'a' }))).toBe('unroutable')
    session.declareExchange('b', 'fanout')
    expect(session.publish(msg('3', { exchange: 'b' }))).toBe('unroutable')
  })
})

describe('auto-delete exchanges', () => {
  test('go when their last binding goes (unbind or queue deletion)', () => {
    const { session } = client(testBroker())
    session.declareExchange('ad', 'direct', { autoDelete: true })
    session.declareQueue('q1')
    session.declareQueue('q2')
    session.bind({ source: 'ad', destination: 'q1', destinationKind: 'queue', routingKey: 'k' })
    session.bind({ source: 'ad', destination: 'q2', destinationKind: 'queue', routingKey: 'k' })
    session.unbind({ source: 'ad', destination: 'q1', destinationKind: 'queue', routingKey: 'k' })
    session.declareExchange('ad', 'direct', { passive: true })
    session.deleteQueue('q2')
    expect(caught(() => session.declareExchange('ad', 'direct', { passive: true })).code).toBe('not-found')
  })

  test('an unused auto-delete exchange stays until it had a binding', () => {
    const { session } = client(testBroker())
    session.declareExchange('ad', 'fanout', { autoDelete: true })
    session.declareExchange('ad', 'fanout', { passive: true })
  })
})

describe('internal exchanges', () => {
  test('cannot be published to but route from other exchanges', () => {
    const { session } = client(testBroker())
    session.declareExchange('in', 'fanout', { internal: true })
    session.declareExchange('front', 'fanout')
    session.declareQueue('q')
    session.bind({ source: 'in', destination: 'q', destinationKind: 'queue', routingKey: '' })
    session.bind({ source: 'front', destination: 'in', destinationKind: 'exchange', routingKey: '' })
    const e = caught(() => session.publish(msg('x', { exchange: 'in' })))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("cannot publish to internal exchange 'in' in vhost '/'")
    expect(session.publish(msg('x', { exchange: 'front' }))).toBe('routed')
    expect(session.declareQueue('q', { passive: true }).messages).toBe(1)
  })
})

describe('alternate exchanges', () => {
  test('take what the exchange cannot route', () => {
    const { session } = client(testBroker())
    session.declareExchange('ae', 'fanout')
    session.declareQueue('unrouted')
    session.bind({ source: 'ae', destination: 'unrouted', destinationKind: 'queue', routingKey: '' })
    session.declareExchange('main', 'direct', { args: { 'alternate-exchange': 'ae' } })
    session.declareQueue('k')
    session.bind({ source: 'main', destination: 'k', destinationKind: 'queue', routingKey: 'k' })
    expect(session.publish(msg('1', { exchange: 'main', routingKey: 'k' }))).toBe('routed')
    expect(session.publish(msg('2', { exchange: 'main', routingKey: 'other' }))).toBe('routed')
    expect(session.declareQueue('k', { passive: true }).messages).toBe(1)
    expect(session.declareQueue('unrouted', { passive: true }).messages).toBe(1)
  })

  test('a missing alternate exchange leaves the message unroutable', () => {
    const { session } = client(testBroker())
    session.declareExchange('main', 'direct', { args: { 'alternate-exchange': 'nope' } })
    expect(session.publish(msg('x', { exchange: 'main' }))).toBe('unroutable')
  })

  test('cycles of alternate exchanges end', () => {
    const { session } = client(testBroker())
    session.declareExchange('a', 'direct', { args: { 'alternate-exchange': 'b' } })
    session.declareExchange('b', 'direct', { args: { 'alternate-exchange': 'a' } })
    expect(session.publish(msg('x', { exchange: 'a', routingKey: 'none' }))).toBe('unroutable')
  })
})

describe('exchange-to-exchange bindings', () => {
  test('a queue reached along several paths gets the message once; cycles end', () => {
    const { session, events } = client(testBroker())
    for (const x of ['a', 'b', 'c']) session.declareExchange(x, 'fanout')
    session.declareQueue('q')
    session.bind({ source: 'a', destination: 'b', destinationKind: 'exchange', routingKey: '' })
    session.bind({ source: 'a', destination: 'c', destinationKind: 'exchange', routingKey: '' })
    session.bind({ source: 'b', destination: 'c', destinationKind: 'exchange', routingKey: '' })
    session.bind({ source: 'c', destination: 'a', destinationKind: 'exchange', routingKey: '' })
    session.bind({ source: 'b', destination: 'q', destinationKind: 'queue', routingKey: '' })
    session.bind({ source: 'c', destination: 'q', destinationKind: 'queue', routingKey: '' })
    session.bind({ source: 'a', destination: 'q', destinationKind: 'queue', routingKey: 'other' })
    expect(session.publish(msg('x', { exchange: 'a' }))).toBe('routed')
    expect(session.declareQueue('q', { passive: true }).messages).toBe(1)
    expect(events.deliveries).toEqual([])
  })

  test('binding to or from a missing exchange is not-found with the missing name', () => {
    const { session } = client(testBroker())
    session.declareExchange('a', 'fanout')
    let e = caught(() => session.bind({ source: 'a', destination: 'zz', destinationKind: 'exchange', routingKey: '' }))
    expect(e.message).toBe("no exchange 'zz' in vhost '/'")
    e = caught(() => session.bind({ source: 'zz', destination: 'a', destinationKind: 'exchange', routingKey: '' }))
    expect(e.message).toBe("no exchange 'zz' in vhost '/'")
    e = caught(() => session.bind({ source: 'a', destination: 'zq', destinationKind: 'queue', routingKey: '' }))
    expect(e.code).toBe('not-found')
    expect(e.message).toBe("no queue 'zq' in vhost '/'")
  })

  test('binding to or from the default exchange is refused', () => {
    const { session } = client(testBroker())
    session.declareQueue('q')
    const e = caught(() => session.bind({ source: '', destination: 'q', destinationKind: 'queue', routingKey: 'q' }))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe('operation not permitted on the default exchange')
    expect(caught(() => session.unbind({ source: '', destination: 'q', destinationKind: 'queue', routingKey: 'q' })).code).toBe(
      'access-refused',
    )
  })

  test('unbinding a binding that does not exist is fine', () => {
    const { session } = client(testBroker())
    session.declareExchange('a', 'direct')
    session.declareQueue('q')
    session.unbind({ source: 'a', destination: 'q', destinationKind: 'queue', routingKey: 'nothing' })
  })

  test('bindings with arguments are distinct by arguments (headers exchange)', () => {
    const { session } = client(testBroker())
    session.declareExchange('h', 'headers')
    session.declareQueue('q')
    session.bind({ source: 'h', destination: 'q', destinationKind: 'queue', routingKey: '', args: { 'x-match': 'all', a: 1 } })
    expect(session.publish(msg('1', { exchange: 'h', properties: { headers: { a: 1 } } }))).toBe('routed')
    expect(session.publish(msg('2', { exchange: 'h', properties: { headers: { a: 2 } } }))).toBe('unroutable')
    session.unbind({ source: 'h', destination: 'q', destinationKind: 'queue', routingKey: '', args: { 'x-match': 'all', a: 1 } })
    expect(session.publish(msg('3', { exchange: 'h', properties: { headers: { a: 1 } } }))).toBe('unroutable')
  })
})
