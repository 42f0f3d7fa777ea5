import { describe, expect, test } from 'bun:test'
import type { Table } from '../api.ts'
import { waitFor } from '../../test/helpers/wait.ts'
import { client, msg, testBroker, text, tick } from './testing.ts'

function setup() {
  const c = client(testBroker())
  const s = c.session
  s.declareExchange('dlx', 'direct')
  s.declareQueue('dlq')
  s.bind({ source: 'dlx', destination: 'dlq', destinationKind: 'queue', routingKey: 'dead' })
  s.declareQueue('work', { args: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'dead' } })
  return c
}

describe('dead-lettering', () => {
  test('a rejected message goes to the DLX with x-death and first/last death headers, same body', async () => {
    const { session: s } = setup()
    const original = msg('payload', {
      routingKey: 'work',
      properties: { headers: { keep: 'me' }, expiration: '60000', messageId: 'm1' },
    })
    s.publish(original)
    const got = s.get('work', { noAck: false })!
    s.settle(got.delivery.id, 'reject')
    const dead = s.get('dlq', { noAck: true })!.delivery
    expect(dead.message.body).toBe(original.body)
    expect(dead.message).not.toBe(original)
    expect([dead.message.exchange, dead.message.routingKey]).toEqual(['dlx', 'dead'])
    const h = dead.message.properties.headers!
    expect(h['keep']).toBe('me')
    expect(dead.message.properties.messageId).toBe('m1')
    expect(dead.message.properties.expiration).toBeUndefined()
    expect([h['x-first-death-reason'], h['x-first-death-queue'], h['x-first-death-exchange']]).toEqual(['rejected', 'work', ''])
    expect([h['x-last-death-reason'], h['x-last-death-queue'], h['x-last-death-exchange']]).toEqual(['rejected', 'work', ''])
    const deaths = h['x-death'] as Table[]
    expect(deaths.length).toBe(1)
    const { time, ...rest } = deaths[0]!
    expect(rest).toEqual({
      'original-expiration': '60000',
      count: { kind: 'typed-number', type: 'l', value: 1 },
      reason: 'rejected',
      queue: 'work',
      exchange: '',
      'routing-keys': ['work'],
    })
    expect(time).toBeInstanceOf(Date)
    expect(Math.abs((time as Date).getTime() - Date.now())).toBeLessThan(2000)
    // The original message was not touched.
    expect(original.properties.headers).toEqual({ keep: 'me' })
  })

  test('without x-dead-letter-routing-key the original routing key is used', () => {
    const c = client(testBroker())
    const s = c.session
    s.declareExchange('dlx', 'fanout')
    s.declareQueue('dlq')
    s.bind({ source: 'dlx', destination: 'dlq', destinationKind: 'queue', routingKey: '' })
    s.declareQueue('work', { args: { 'x-dead-letter-exchange': 'dlx' } })
    s.publish(msg('x', { routingKey: 'work' }))
    s.settle(s.get('work', { noAck: false })!.delivery.id, 'reject')
    expect(s.get('dlq', { noAck: true })!.delivery.message.routingKey).toBe('work')
  })

  test('requeue does not dead-letter; a missing DLX drops', () => {
    const c = client(testBroker())
    const s = c.session
    s.declareQueue('work', { args: { 'x-dead-letter-exchange': 'missing' } })
    s.publish(msg('x', { routingKey: 'work' }))
    const d = s.get('work', { noAck: false })!.delivery
    s.settle(d.id, 'requeue')
    const again = s.get('work', { noAck: false })!.delivery
    s.settle(again.id, 'reject')
    expect(s.declareQueue('work', { passive: true }).messages).toBe(0)
  })

  test('the count of the same queue and reason increments and the record moves to the front', () => {
    const c = client(testBroker())
    const s = c.session
    // a rejects to b, b rejects back to a: a client rejecting breaks cycles, so it may loop.
    s.declareQueue('a', { args: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'b' } })
    s.declareQueue('b', { args: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'a' } })
    s.publish(msg('x', { routingKey: 'a' }))
    for (const q of ['a', 'b', 'a']) s.settle(s.get(q, { noAck: false })!.delivery.id, 'reject')
    const m = s.get('b', { noAck: true })!.delivery.message
    const deaths = m.properties.headers!['x-death'] as Table[]
    expect(deaths.map((d) => [d['queue'], d['reason'], (d['count'] as { value: number }).value])).toEqual([
      ['a', 'rejected', 2],
      ['b', 'rejected', 1],
    ])
    expect(m.properties.headers!['x-first-death-queue']).toBe('a')
    expect(m.properties.headers!['x-last-death-queue']).toBe('a')
  })

  test('a fully automatic cycle (expired) is dropped', async () => {
    const c = client(testBroker())
    const s = c.session
    s.declareQueue('loop', { args: { 'x-message-ttl': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'loop' } })
    s.publish(msg('x', { routingKey: 'loop' }))
    await waitFor(() => s.declareQueue('loop', { passive: true }).messages === 0)
    await tick()
    expect(s.declareQueue('loop', { passive: true }).messages).toBe(0)
  })

  test('a cycle through two queues by expiry ends after one lap', async () => {
    const c = client(testBroker())
    const s = c.session
    s.declareQueue('a', { args: { 'x-message-ttl': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'b' } })
    s.declareQueue('b', { args: { 'x-message-ttl': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'a' } })
    s.publish(msg('x', { routingKey: 'a' }))
    await waitFor(() => s.declareQueue('b', { passive: true }).messages === 1)
    await waitFor(() => s.declareQueue('b', { passive: true }).messages === 0)
    await tick()
    expect(s.declareQueue('a', { passive: true }).messages).toBe(0)
  })

  test('overflowing queues dead-lettering into each other terminate without deep recursion', () => {
    const c = client(testBroker())
    const s = c.session
    s.declareQueue('a', { args: { 'x-max-length': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'b' } })
    s.declareQueue('b', { args: { 'x-max-length': 100, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'a' } })
    for (let i = 0; i < 5000; i++) s.publish(msg(String(i), { routingKey: i % 2 === 0 ? 'a' : 'b' }))
    expect(s.declareQueue('a', { passive: true }).messages).toBe(100)
    expect(s.declareQueue('b', { passive: true }).messages).toBe(100)
    expect(text(s.get('a', { noAck: true })!.delivery.message)).toBeDefined()
  })
})
