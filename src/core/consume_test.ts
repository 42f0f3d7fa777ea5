import { describe, expect, test } from 'bun:test'
import { caught, client, msg, session, testBroker, text, tick } from './testing.ts'

describe('basic.consume', () => {
  test('delivers after consume returns (consume-ok first), then synchronously on publish', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('before'))
    const tag = s.consume('q', { noAck: false })
    expect(events.deliveries).toEqual([])
    await tick()
    expect(events.bodies()).toEqual(['before'])
    s.publish(msg('after'))
    expect(events.bodies()).toEqual(['before', 'after'])
    const d = events.deliveries[1]!
    expect([d.id, d.consumerTag, d.queue, d.redelivered, d.deliveryCount]).toEqual([2, tag, 'q', false, 0])
  })

  test('generates amq.ctag- tags and refuses a reused tag on the session (connection scope)', () => {
    const c = client(testBroker())
    c.session.declareQueue('q')
    expect(c.session.consume('q', { noAck: true })).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/)
    c.session.consume('q', { noAck: true, tag: 'x' })
    const e = caught(() => c.session.consume('q', { noAck: true, tag: 'x' }))
    expect(e.code).toBe('not-allowed')
    expect(e.scope).toBe('connection')
    expect(e.message).toBe("attempt to reuse consumer tag 'x'")
    session(c).session.consume('q', { noAck: true, tag: 'x' })
  })

  test('consuming from a missing queue is not-found', () => {
    const { session: s } = client(testBroker())
    expect(caught(() => s.consume('nope', { noAck: true })).message).toBe("no queue 'nope' in vhost '/'")
  })

  test('exclusive consume refuses and is refused by other consumers', () => {
    const c = client(testBroker())
    c.session.declareQueue('q')
    c.session.consume('q', { noAck: true, exclusive: true })
    let e = caught(() => c.session.consume('q', { noAck: true }))
    expect(e.code).toBe('access-refused')
    expect(e.message).toBe("queue 'q' in vhost '/' in exclusive use")
    c.session.declareQueue('q2')
    c.session.consume('q2', { noAck: true })
    e = caught(() => c.session.consume('q2', { noAck: true, exclusive: true }))
    expect(e.message).toBe("queue 'q2' in vhost '/' in exclusive use")
  })

  test('x-priority must be an integer', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    const e = caught(() => s.consume('q', { noAck: true, args: { 'x-priority': 'high' } }))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe(`invalid arg 'x-priority' for queue 'q' in vhost '/': "expected integer, got longstr"`)
  })

  test('cancel stops deliveries and reports whether the tag existed', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    const tag = s.consume('q', { noAck: true })
    await tick()
    expect(s.cancel(tag)).toBe(true)
    expect(s.cancel(tag)).toBe(false)
    s.publish(msg('x'))
    expect(events.deliveries).toEqual([])
    expect(s.declareQueue('q', { passive: true }).messages).toBe(1)
  })
})

describe('delivery scheduling', () => {
  test('round-robins between consumers of equal priority', async () => {
    const c = client(testBroker())
    const other = session(c)
    c.session.declareQueue('q')
    c.session.consume('q', { noAck: true })
    other.session.consume('q', { noAck: true })
    await tick()
    for (let i = 0; i < 6; i++) c.session.publish(msg(String(i)))
    expect(c.events.bodies()).toEqual(['0', '2', '4'])
    expect(other.events.bodies()).toEqual(['1', '3', '5'])
  })

  test('x-priority consumers go first while they have credit', async () => {
    const c = client(testBroker())
    const low = session(c)
    c.session.declareQueue('q')
    c.session.consume('q', { noAck: false, prefetch: 2, args: { 'x-priority': 10 } })
    low.session.consume('q', { noAck: false, prefetch: 0 })
    await tick()
    for (let i = 0; i < 5; i++) c.session.publish(msg(String(i)))
    expect(c.events.bodies()).toEqual(['0', '1'])
    expect(low.events.bodies()).toEqual(['2', '3', '4'])
    c.session.settle(1, 'ack')
    c.session.publish(msg('5'))
    expect(c.events.bodies()).toEqual(['0', '1', '5'])
  })

  test('single-active-consumer: one consumer gets everything; the next takes over', async () => {
    const c = client(testBroker())
    const second = session(c)
    c.session.declareQueue('sac', { args: { 'x-single-active-consumer': true } })
    const first = c.session.consume('sac', { noAck: false })
    second.session.consume('sac', { noAck: false })
    await tick()
    for (let i = 0; i < 3; i++) c.session.publish(msg(String(i), { routingKey: 'sac' }))
    expect(c.events.bodies()).toEqual(['0', '1', '2'])
    expect(second.events.deliveries).toEqual([])
    c.session.cancel(first)
    await tick()
    c.session.publish(msg('3', { routingKey: 'sac' }))
    expect(second.events.bodies()).toEqual(['3'])
    // Closing the first session requeues its unacked messages to the new active consumer.
    c.session.close()
    expect(second.events.bodies()).toEqual(['3', '0', '1', '2'])
  })

  test('per-consumer prefetch holds deliveries until acks', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.setPrefetch(2, 'consumer')
    s.consume('q', { noAck: false })
    await tick()
    for (let i = 0; i < 5; i++) s.publish(msg(String(i)))
    expect(events.bodies()).toEqual(['0', '1'])
    s.settle(1, 'ack')
    expect(events.bodies()).toEqual(['0', '1', '2'])
    s.settle({ upTo: 3 }, 'ack')
    expect(events.bodies()).toEqual(['0', '1', '2', '3', '4'])
    expect(s.unackedCount).toBe(2)
  })

  test('the consumer prefetch applies to consumers created after setPrefetch; ConsumeOptions.prefetch overrides', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('a')
    s.declareQueue('b')
    s.consume('a', { noAck: false, tag: 'a' })
    s.setPrefetch(1, 'consumer')
    s.consume('b', { noAck: false, tag: 'b', prefetch: 3 })
    await tick()
    for (let i = 0; i < 4; i++) {
      s.publish(msg(`a${i}`, { routingKey: 'a' }))
      s.publish(msg(`b${i}`, { routingKey: 'b' }))
    }
    expect(events.bodies().filter((b) => b.startsWith('a')).length).toBe(4)
    expect(events.bodies().filter((b) => b.startsWith('b')).length).toBe(3)
  })

  test('session prefetch is shared by all consumers of the session', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('a')
    s.declareQueue('b')
    s.setPrefetch(3, 'session')
    s.consume('a', { noAck: false })
    s.consume('b', { noAck: false })
    await tick()
    for (let i = 0; i < 3; i++) {
      s.publish(msg(`a${i}`, { routingKey: 'a' }))
      s.publish(msg(`b${i}`, { routingKey: 'b' }))
    }
    expect(events.bodies()).toEqual(['a0', 'b0', 'a1'])
    s.settle(2, 'ack')
    expect(events.deliveries.length).toBe(4)
    expect(s.unackedCount).toBe(3)
  })

  test('no-ack consumers are not limited by prefetch and leave nothing unacked', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.setPrefetch(1, 'consumer')
    s.consume('q', { noAck: true })
    await tick()
    for (let i = 0; i < 5; i++) s.publish(msg(String(i)))
    expect(events.deliveries.length).toBe(5)
    expect(s.unackedCount).toBe(0)
    expect(caught(() => s.settle(1, 'ack')).message).toBe('unknown delivery tag 1')
  })

  test('setWritable(false) and setFlow(false) hold deliveries; true resumes', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.consume('q', { noAck: true })
    await tick()
    s.setWritable(false)
    s.publish(msg('1'))
    expect(events.deliveries).toEqual([])
    s.setWritable(true)
    expect(events.bodies()).toEqual(['1'])
    s.setFlow(false)
    s.publish(msg('2'))
    s.setWritable(false)
    s.setWritable(true)
    expect(events.bodies()).toEqual(['1'])
    s.setFlow(true)
    expect(events.bodies()).toEqual(['1', '2'])
  })

  test('flush is called once per burst for each session that got something', async () => {
    const c = client(testBroker())
    const other = session(c)
    c.session.declareQueue('q')
    c.session.consume('q', { noAck: true })
    other.session.consume('q', { noAck: true })
    await tick()
    const before = [c.events.flushes, other.events.flushes]
    for (let i = 0; i < 100; i++) c.session.publish(msg(String(i)))
    expect([c.events.flushes, other.events.flushes]).toEqual(before)
    await tick()
    expect([c.events.flushes - before[0]!, other.events.flushes - before[1]!]).toEqual([1, 1])
  })

  test('a long backlog is delivered in slices that yield to the event loop', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    for (let i = 0; i < 2000; i++) s.publish(msg(String(i)))
    s.consume('q', { noAck: true })
    await Promise.resolve()
    await Promise.resolve()
    expect(events.deliveries.length).toBe(512)
    for (let i = 0; i < 10 && events.deliveries.length < 2000; i++) await tick()
    expect(events.deliveries.length).toBe(2000)
    expect(events.bodies().slice(0, 3)).toEqual(['0', '1', '2'])
  })

  test('the same Message object and body reach every queue', async () => {
    const { session: s, events } = client(testBroker())
    s.declareExchange('f', 'fanout')
    for (const q of ['a', 'b']) {
      s.declareQueue(q)
      s.bind({ source: 'f', destination: q, destinationKind: 'queue', routingKey: '' })
      s.consume(q, { noAck: true })
    }
    await tick()
    const m = msg('shared', { exchange: 'f' })
    s.publish(m)
    expect(events.deliveries.length).toBe(2)
    expect(events.deliveries[0]!.message).toBe(m)
    expect(events.deliveries[1]!.message.body).toBe(m.body)
  })

  test('an adapter publishing from inside deliver is safe', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    s.declareQueue('echo')
    s.consume('q', { noAck: true })
    await tick()
    events.onDeliver = (d) => {
      if (text(d.message) !== 'bounced') s.publish(msg('bounced', { routingKey: 'echo' }))
    }
    s.publish(msg('x'))
    expect(s.declareQueue('echo', { passive: true }).messages).toBe(1)
  })
})

describe('basic.get', () => {
  test('returns one message and the remaining count, or null', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    expect(s.get('q', { noAck: true })).toBeNull()
    s.publish(msg('1'))
    s.publish(msg('2'))
    const r = s.get('q', { noAck: false })!
    expect([text(r.delivery.message), r.remaining, r.delivery.consumerTag, r.delivery.id]).toEqual(['1', 1, '', 1])
    expect(s.unackedCount).toBe(1)
    const r2 = s.get('q', { noAck: true })!
    expect([text(r2.delivery.message), r2.remaining, r2.delivery.id]).toEqual(['2', 0, 2])
    expect(s.unackedCount).toBe(1)
  })
})
