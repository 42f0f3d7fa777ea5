import { describe, expect, test } from 'bun:test'
import { caught, client, msg, session, testBroker, text, tick } from './testing.ts'

describe('direct reply-to', () => {
  test('request/reply without a reply queue', async () => {
    const c = client(testBroker())
    const server = session(c)
    server.session.declareQueue('rpc')
    server.session.consume('rpc', { noAck: true })
    await tick()
    const tag = c.session.consume('amq.rabbitmq.reply-to', { noAck: true })
    expect(c.session.publish(msg('ping', { routingKey: 'rpc', properties: { replyTo: 'amq.rabbitmq.reply-to' } }))).toBe(
      'routed',
    )
    const request = server.events.deliveries[0]!
    const replyTo = request.message.properties.replyTo!
    expect(replyTo).toMatch(/^amq\.rabbitmq\.reply-to\.[A-Za-z0-9_-]{22}$/)
    expect(server.session.declareQueue(replyTo, { passive: true })).toEqual({ name: replyTo, messages: 0, consumers: 1 })
    expect(server.session.publish(msg('pong', { routingKey: replyTo }))).toBe('routed')
    const reply = c.events.deliveries[0]!
    expect([text(reply.message), reply.consumerTag]).toEqual(['pong', tag])
    expect(c.session.unackedCount).toBe(0)
    c.session.cancel(tag)
    expect(server.session.publish(msg('late', { routingKey: replyTo }))).toBe('unroutable')
  })

  test('the reply consumer must be no-ack and single', () => {
    const { session: s } = client(testBroker())
    let e = caught(() => s.consume('amq.rabbitmq.reply-to', { noAck: false }))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe('reply consumer cannot acknowledge')
    s.consume('amq.rabbitmq.reply-to', { noAck: true })
    e = caught(() => s.consume('amq.rabbitmq.reply-to', { noAck: true }))
    expect(e.message).toBe('reply consumer already set')
  })

  test('publishing with reply-to needs a reply consumer on the session', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('rpc')
    const e = caught(() => s.publish(msg('x', { routingKey: 'rpc', properties: { replyTo: 'amq.rabbitmq.reply-to' } })))
    expect(e.code).toBe('precondition-failed')
    expect(e.message).toBe('fast reply consumer does not exist')
  })

  test('passive declare of the pseudo-queue succeeds; unknown reply addresses are not-found', () => {
    const { session: s } = client(testBroker())
    expect(s.declareQueue('amq.rabbitmq.reply-to', { passive: true })).toEqual({
      name: 'amq.rabbitmq.reply-to',
      messages: 0,
      consumers: 1,
    })
    expect(caught(() => s.declareQueue('amq.rabbitmq.reply-to.nope', { passive: true })).code).toBe('not-found')
  })
})
