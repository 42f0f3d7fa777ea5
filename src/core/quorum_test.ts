import { describe, expect, test } from 'bun:test'
import type { Table } from '../api.ts'
import { caught, client, msg, testBroker, tick } from './testing.ts'

const QQ: Table = { 'x-queue-type': 'quorum' }

describe('quorum queue declare', () => {
  test('a durable, non-exclusive, non-auto-delete quorum queue is accepted and redeclared', () => {
    const { session: s } = client(testBroker())
    expect(s.declareQueue('q', { durable: true, args: QQ })).toEqual({ name: 'q', messages: 0, consumers: 0 })
    expect(s.declareQueue('q', { durable: true, args: QQ }).name).toBe('q')
    expect(s.declareQueue('q', { passive: true }).name).toBe('q')
  })

  const properties: [string, { durable?: boolean; exclusive?: boolean; autoDelete?: boolean }, string][] = [
    ['non-durable', { durable: false }, "invalid property 'non-durable' for queue 'q' in vhost '/'"],
    ['exclusive', { durable: true, exclusive: true }, "invalid property 'exclusive-owner' for queue 'q' in vhost '/'"],
    ['auto-delete', { durable: true, autoDelete: true }, "invalid property 'auto-delete' for queue 'q' in vhost '/'"],
    // rabbit_quorum_queue:declare/2 checks auto-delete first, then exclusive, then durable.
    ['all three', { exclusive: true, autoDelete: true }, "invalid property 'auto-delete' for queue 'q' in vhost '/'"],
  ]
  for (const [what, opts, text] of properties) {
    test(`refuses a ${what} quorum queue`, () => {
      const { session: s } = client(testBroker())
      const e = caught(() => s.declareQueue('q', { ...opts, args: QQ }))
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
      expect(caught(() => s.declareQueue('q', { passive: true })).code).toBe('not-found')
    })
  }

  test('refuses a server-named quorum queue', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.declareQueue('', { durable: true, args: QQ }))
    expect(e.message).toBe('Cannot declare a server-named queue for type rabbit_quorum_queue')
  })

  const args: [Table, string][] = [
    [{ 'x-max-priority': 5 }, "invalid arg 'x-max-priority' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"],
    [{ 'x-queue-mode': 'lazy' }, "invalid arg 'x-queue-mode' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"],
    [{ 'x-queue-version': 2 }, "invalid arg 'x-queue-version' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"],
    [{ 'x-max-age': '1D' }, "invalid arg 'x-max-age' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue"],
    [{ 'x-max-length': -1 }, "invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}"],
    [{ 'x-dead-letter-strategy': 'sometimes' }, "invalid arg 'x-dead-letter-strategy' for queue 'q' in vhost '/': invalid_dlx_strategy"],
    [{ 'x-quorum-initial-group-size': 0 }, "invalid arg 'x-quorum-initial-group-size' for queue 'q' in vhost '/': {value_zero,0}"],
    [{ 'x-max-in-memory-length': -2 }, "invalid arg 'x-max-in-memory-length' for queue 'q' in vhost '/': {value_negative,-2}"],
    [{ 'x-queue-leader-locator': 'far' }, "invalid arg 'x-queue-leader-locator' for queue 'q' in vhost '/': invalid_queue_locator_arg"],
    // Arguments are checked before the properties.
    [{ 'x-overflow': 'no' }, "invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow"],
  ]
  for (const [extra, text] of args) {
    test(`refuses ${JSON.stringify(extra)}`, () => {
      const { session: s } = client(testBroker())
      const e = caught(() => s.declareQueue('q', { durable: true, args: { ...QQ, ...extra } }))
      expect(e.code).toBe('precondition-failed')
      expect(e.message).toBe(text)
    })
  }

  test('accepts every quorum argument', () => {
    const { session: s } = client(testBroker())
    s.declareExchange('dlx', 'fanout')
    s.declareQueue('q', {
      durable: true,
      args: {
        ...QQ,
        'x-max-length': 10,
        'x-max-length-bytes': 1000,
        'x-overflow': 'reject-publish',
        'x-message-ttl': 60000,
        'x-expires': 60000,
        'x-dead-letter-exchange': 'dlx',
        'x-dead-letter-routing-key': 'rk',
        'x-dead-letter-strategy': 'at-least-once',
        'x-delivery-limit': 3,
        'x-single-active-consumer': true,
        'x-quorum-initial-group-size': 3,
        'x-max-in-memory-length': 5,
        'x-max-in-memory-bytes': 500,
        'x-queue-leader-locator': 'balanced',
      },
    })
  })

  test('a classic queue still refuses quorum arguments', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.declareQueue('q', { durable: true, args: { 'x-delivery-limit': 1 } }))
    expect(e.message).toBe("invalid arg 'x-delivery-limit' for queue 'q' in vhost '/' of queue type rabbit_classic_queue")
  })

  test('streams are refused by name', () => {
    const { session: s } = client(testBroker())
    const e = caught(() => s.declareQueue('q', { durable: true, args: { 'x-queue-type': 'stream' } }))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe(
      `invalid arg 'x-queue-type' for queue 'q' in vhost '/': "unsupported queue type 'stream': streams are not supported by Warren"`,
    )
  })

  test('redeclaring as classic or without a type is inequivalent', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: QQ })
    expect(caught(() => s.declareQueue('q', { durable: true })).message).toBe(
      "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received none but current is the value 'quorum' of type 'longstr'",
    )
    expect(caught(() => s.declareQueue('q', { durable: true, args: { 'x-queue-type': 'classic' } })).message).toBe(
      "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the value 'classic' of type 'longstr' " +
        "but current is the value 'quorum' of type 'longstr'",
    )
    s.declareQueue('c', { durable: true })
    expect(caught(() => s.declareQueue('c', { durable: true, args: QQ })).message).toBe(
      "inequivalent arg 'x-queue-type' for queue 'c' in vhost '/': received the value 'quorum' of type 'longstr' but current is none",
    )
  })

  test('quorum arguments take part in equivalence', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: { ...QQ, 'x-delivery-limit': 2 } })
    expect(caught(() => s.declareQueue('q', { durable: true, args: { ...QQ, 'x-delivery-limit': 3 } })).message).toBe(
      "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received the value '3' of type 'signedint' " +
        "but current is the value '2' of type 'signedint'",
    )
  })

  test('x-cancel-on-ha-failover is a classic consumer argument', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: QQ })
    const e = caught(() => s.consume('q', { noAck: false, args: { 'x-cancel-on-ha-failover': true } }))
    expect(e.message).toBe("invalid arg 'x-cancel-on-ha-failover' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue")
    s.consume('q', { noAck: false, args: { 'x-priority': 3, 'x-credit': 1 } })
  })
})

describe('quorum queue delivery', () => {
  test('returns count in x-delivery-count; past x-delivery-limit the message is dead-lettered', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('dead', { durable: true })
    s.declareQueue('q', {
      durable: true,
      args: { ...QQ, 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' },
    })
    s.publish(msg('m', { properties: { headers: { a: 1 } } }))
    s.consume('q', { noAck: false, prefetch: 0 })
    await tick()
    const [first] = events.take()
    expect(first!.redelivered).toBe(false)
    expect(first!.message.properties.headers).toEqual({ a: 1 })
    s.settle(first!.id, 'requeue')
    await tick()
    const [second] = events.take()
    expect(second!.redelivered).toBe(true)
    expect(second!.message.properties.headers?.['x-delivery-count']).toEqual({ kind: 'typed-number', type: 'l', value: 1 })
    expect(second!.message.body).toBe(first!.message.body)
    s.settle(second!.id, 'requeue')
    await tick()
    expect(events.take()).toEqual([])
    expect(s.declareQueue('q', { durable: true, args: { ...QQ, 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' } }).messages).toBe(0)
    const got = s.get('dead', { noAck: true })!
    const headers = got.delivery.message.properties.headers!
    expect(headers['x-first-death-reason']).toBe('delivery_limit')
    expect((headers['x-death'] as Table[])[0]!['reason']).toBe('delivery_limit')
    // The dead-lettered copy carries no x-delivery-count of the source queue.
    expect(headers['x-delivery-count']).toBeUndefined()
  })

  test('x-delivery-limit 0 allows no return; without a DLX the message is dropped', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: { ...QQ, 'x-delivery-limit': 0 } })
    s.publish(msg('m'))
    const got = s.get('q', { noAck: false })!
    // basic.get always reports the count on a quorum queue.
    expect(got.delivery.message.properties.headers?.['x-delivery-count']).toEqual({ kind: 'typed-number', type: 'l', value: 0 })
    s.settle(got.delivery.id, 'requeue')
    expect(s.get('q', { noAck: true })).toBeNull()
  })

  test('without a limit a message comes back for ever, counting', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: QQ })
    s.publish(msg('m'))
    for (let i = 0; i < 30; i++) {
      const got = s.get('q', { noAck: false })!
      expect(got.delivery.deliveryCount).toBe(i)
      s.settle(got.delivery.id, 'requeue')
    }
  })

  test('a closing session returns its messages, which counts toward the limit', () => {
    const broker = testBroker()
    const a = client(broker)
    a.session.declareQueue('q', { durable: true, args: { ...QQ, 'x-delivery-limit': 0 } })
    a.session.publish(msg('m'))
    expect(a.session.get('q', { noAck: false })).not.toBeNull()
    a.session.close()
    const b = client(broker)
    expect(b.session.declareQueue('q', { passive: true }).messages).toBe(0)
  })

  test('reject-publish refuses only once the queue is over its limit', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q', { durable: true, args: { ...QQ, 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    s.publish(msg('1'), { confirmId: 1 })
    s.publish(msg('2'), { confirmId: 2 })
    s.publish(msg('3'), { confirmId: 3 })
    await tick()
    expect(events.allRejected).toEqual([3])
    expect(s.declareQueue('q', { passive: true }).messages).toBe(2)
  })

  test('reject-publish-dlx is accepted and runs as drop-head', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { durable: true, args: { ...QQ, 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' } })
    s.publish(msg('1'))
    s.publish(msg('2'))
    expect(s.declareQueue('q', { passive: true }).messages).toBe(1)
  })
})
