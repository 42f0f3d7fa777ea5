import { describe, expect, test } from 'bun:test'
import { caught, client, msg, session, testBroker, text, tick } from './testing.ts'

async function consumerOn(queue: string, count: number) {
  const c = client(testBroker())
  c.session.declareQueue(queue)
  for (let i = 0; i < count; i++) c.session.publish(msg(String(i), { routingKey: queue }))
  c.session.consume(queue, { noAck: false })
  await tick()
  return c
}

describe('Session.settle', () => {
  test('unknown or already settled ids are precondition-failed "unknown delivery tag N" (session scope)', async () => {
    const { session: s } = await consumerOn('q', 2)
    s.settle(1, 'ack')
    for (const fn of [() => s.settle(1, 'ack'), () => s.settle(7, 'requeue'), () => s.settle({ upTo: 9 }, 'ack')]) {
      const e = caught(fn)
      expect(e.code).toBe('precondition-failed')
      expect(e.scope).toBe('session')
      expect(e.message).toMatch(/^unknown delivery tag \d+$/)
    }
    // A failed multiple-ack settles nothing.
    expect(s.unackedCount).toBe(1)
  })

  test('upTo settles every outstanding id up to and including it; upTo 0 settles all', async () => {
    const { session: s } = await consumerOn('q', 5)
    s.settle(2, 'ack')
    s.settle({ upTo: 3 }, 'ack')
    expect(s.unackedCount).toBe(2)
    s.settle({ upTo: 0 }, 'ack')
    expect(s.unackedCount).toBe(0)
    s.settle({ upTo: 0 }, 'ack')
  })

  test('requeue puts messages back in their original order, redelivered, deliveryCount+1', async () => {
    const c = await consumerOn('q', 4)
    const { session: s, events } = c
    expect(events.bodies()).toEqual(['0', '1', '2', '3'])
    s.cancel(events.take()[0]!.consumerTag)
    s.settle(3, 'requeue')
    s.settle(1, 'requeue')
    s.settle({ upTo: 4 }, 'requeue')
    const got = []
    for (let r = s.get('q', { noAck: false }); r !== null; r = s.get('q', { noAck: false })) got.push(r.delivery)
    expect(got.map((d) => text(d.message))).toEqual(['0', '1', '2', '3'])
    expect(got.every((d) => d.redelivered && d.deliveryCount === 1)).toBe(true)
  })

  test('reject without a dead-letter exchange drops the message', async () => {
    const { session: s } = await consumerOn('q', 2)
    s.settle(1, 'reject')
    s.settle({ upTo: 2 }, 'reject')
    expect(s.unackedCount).toBe(0)
    expect(s.declareQueue('q', { passive: true }).messages).toBe(0)
  })

  test('settling a delivery whose queue was deleted is fine', async () => {
    const { session: s } = await consumerOn('q', 2)
    s.deleteQueue('q')
    s.settle(1, 'ack')
    s.settle(2, 'requeue')
    expect(s.unackedCount).toBe(0)
  })
})

describe('closing returns unacked deliveries', () => {
  test('session close requeues in original order to the other consumers', async () => {
    const c = client(testBroker())
    const other = session(c)
    c.session.declareQueue('q')
    c.session.setPrefetch(3, 'consumer')
    c.session.consume('q', { noAck: false })
    await tick()
    for (let i = 0; i < 3; i++) c.session.publish(msg(String(i)))
    c.session.settle(2, 'ack')
    other.session.consume('q', { noAck: false })
    await tick()
    c.session.close()
    expect(other.events.bodies()).toEqual(['0', '2'])
    expect(other.events.deliveries.map((d) => [d.redelivered, d.deliveryCount])).toEqual([
      [true, 1],
      [true, 1],
    ])
    c.session.close()
  })

  test('connection close requeues every session', () => {
    const broker = testBroker()
    const a = client(broker)
    a.session.declareQueue('q')
    a.session.publish(msg('1'))
    a.session.publish(msg('2'))
    a.session.get('q', { noAck: false })
    session(a).session.get('q', { noAck: false })
    a.connection.close()
    a.connection.close()
    const b = client(broker)
    expect(b.session.declareQueue('q', { passive: true }).messages).toBe(2)
    expect(text(b.session.get('q', { noAck: true })!.delivery.message)).toBe('1')
  })

  test('recover requeues everything unacked and redelivers it', async () => {
    const { session: s, events } = await consumerOn('q', 3)
    s.settle(2, 'ack')
    events.take()
    s.recover()
    expect(events.bodies()).toEqual(['0', '2'])
    expect(events.deliveries.map((d) => d.id)).toEqual([4, 5])
    expect(events.deliveries.every((d) => d.redelivered)).toBe(true)
  })
})
