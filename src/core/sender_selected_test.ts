import { describe, expect, test } from 'bun:test'
import type { Message } from '../api.ts'
import { headerRoutes, withoutBcc } from './sender_selected.ts'
import { caught, client, msg, Recorder, testBroker, tick } from './testing.ts'

describe('headerRoutes', () => {
  test('undefined without CC and BCC; CC keys then BCC keys, strings only', () => {
    expect(headerRoutes({ cc: ['lower-case is another header'] }, true)).toBeUndefined()
    expect(headerRoutes({ CC: ['a', 1, 'b', null], BCC: ['c', new Uint8Array([100])] }, true)).toEqual(['a', 'b', 'c'])
    expect(headerRoutes({ BCC: [] }, true)).toEqual([])
  })

  test('a non-array is RabbitMQ\'s "invalid message" when strict, ignored otherwise', () => {
    const e = caught(() => headerRoutes({ CC: 'a' }, true))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe('invalid message: {unacceptable_type_in_header,"CC",longstr}')
    expect(caught(() => headerRoutes({ CC: ['a'], BCC: 5 }, true)).message).toBe(
      'invalid message: {unacceptable_type_in_header,"BCC",signedint}',
    )
    expect(headerRoutes({ CC: 'a', BCC: ['b'] }, false)).toEqual(['b'])
  })
})

describe('withoutBcc', () => {
  test('copies message, properties and headers once; the body and the original stay', () => {
    const original: Message = {
      ...msg('body', { properties: { contentType: 't', headers: { CC: ['a'], BCC: ['b'], n: 1 } } }),
      annotations: { 'x.y': 1 },
    }
    const copy = withoutBcc(original)
    expect(copy.body).toBe(original.body)
    expect(copy.properties.headers).toEqual({ CC: ['a'], n: 1 })
    expect(copy.properties.contentType).toBe('t')
    expect(copy.annotations).toBe(original.annotations)
    expect(original.properties.headers?.BCC).toEqual(['b'])
  })
})

describe('Session.publish with CC/BCC', () => {
  test('stores the message once per queue, BCC removed, body shared', async () => {
    const { session: s } = client(testBroker())
    for (const q of ['q', 'a', 'b']) s.declareQueue(q)
    const m = msg('x', { properties: { headers: { CC: ['a', 'q'], BCC: ['b', 'a'] } } })
    expect(s.publish(m)).toBe('routed')
    for (const q of ['q', 'a', 'b']) expect(s.declareQueue(q, { passive: true }).messages).toBe(1)
    const got = s.get('b', { noAck: true })!.delivery.message
    expect(got.body).toBe(m.body)
    expect(got.properties.headers).toEqual({ CC: ['a', 'q'] })
    await tick()
  })

  test('a message without CC/BCC, or with CC only, is stored as published (no copy)', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.declareQueue('a')
    const plain = msg('p', { properties: { headers: { h: 1 } } })
    const cc = msg('c', { properties: { headers: { CC: ['a'] } } })
    s.publish(plain)
    s.publish(cc)
    expect(s.get('q', { noAck: true })!.delivery.message).toBe(plain)
    expect(s.get('q', { noAck: true })!.delivery.message).toBe(cc)
    expect(s.get('a', { noAck: true })!.delivery.message).toBe(cc)
  })

  test('the alternate exchange takes over only when no key routes', () => {
    const { session: s } = client(testBroker())
    s.declareExchange('ae', 'fanout')
    s.declareExchange('x', 'direct', { args: { 'alternate-exchange': 'ae' } })
    s.declareQueue('k-q')
    s.declareQueue('ae-q')
    s.bind({ source: 'x', destination: 'k-q', destinationKind: 'queue', routingKey: 'k' })
    s.bind({ source: 'ae', destination: 'ae-q', destinationKind: 'queue', routingKey: '' })
    s.publish(msg('1', { exchange: 'x', routingKey: 'nope', properties: { headers: { CC: ['k'] } } }))
    expect(s.declareQueue('ae-q', { passive: true }).messages).toBe(0)
    expect(s.declareQueue('k-q', { passive: true }).messages).toBe(1)
    s.publish(msg('2', { exchange: 'x', routingKey: 'nope', properties: { headers: { CC: ['nope2'] } } }))
    expect(s.declareQueue('ae-q', { passive: true }).messages).toBe(1)
  })

  test('unroutable with every key: unroutable, confirmed once', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q')
    expect(s.publish(msg('x', { routingKey: 'none', properties: { headers: { CC: ['none2'] } } }), { confirmId: 1 })).toBe(
      'unroutable',
    )
    s.publish(msg('y', { properties: { headers: { CC: ['q'], BCC: ['q'] } } }), { confirmId: 2 })
    await tick()
    expect(events.allSettled).toEqual([1, 2])
  })

  test('a non-AMQP session ignores a CC that is not an array (MQTT user properties are strings)', () => {
    const broker = testBroker()
    const connection = broker.connect({ protocol: 'mqtt', vhost: '/', user: { name: 'guest', tags: [] }, remoteAddress: '127.0.0.1' })
    const s = connection.openSession(new Recorder())
    s.declareQueue('q')
    expect(s.publish(msg('x', { properties: { headers: { CC: 'q2', BCC: ['q'] } } }))).toBe('routed')
    expect(s.get('q', { noAck: true })!.delivery.message.properties.headers).toEqual({ CC: 'q2' })
  })
})
