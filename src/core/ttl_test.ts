import { describe, expect, test } from 'bun:test'
import { waitFor } from '../../test/helpers/wait.ts'
import type { BrokerError, Session } from '../api.ts'
import { client, msg, testBroker, text, tick } from './testing.ts'

describe('message TTL', () => {
  test('x-message-ttl expires messages at the head', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-message-ttl': 30 } })
    s.publish(msg('x'))
    expect(s.declareQueue('q', { passive: true }).messages).toBe(1)
    await waitFor(() => s.declareQueue('q', { passive: true }).messages === 0)
  })

  test('per-message expiration; the smaller of the two TTLs wins', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-message-ttl': 60000 } })
    s.publish(msg('short', { properties: { expiration: '20' } }))
    s.publish(msg('long'))
    await waitFor(() => s.declareQueue('q', { passive: true }).messages === 1)
    expect(text(s.get('q', { noAck: true })!.delivery.message)).toBe('long')
  })

  test('messages expire only at the head of the queue', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('forever'))
    s.publish(msg('short', { properties: { expiration: '1' } }))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(s.declareQueue('q', { passive: true }).messages).toBe(2)
    expect(text(s.get('q', { noAck: true })!.delivery.message)).toBe('forever')
    // Now at the head and past its deadline: basic.get does not return it.
    expect(s.get('q', { noAck: true })).toBeNull()
  })

  test('a requeued message past its deadline expires without further traffic', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('x', { properties: { expiration: '10' } }))
    const d = s.get('q', { noAck: false })!.delivery
    await new Promise((resolve) => setTimeout(resolve, 20))
    s.settle(d.id, 'requeue')
    await waitFor(() => s.declareQueue('q', { passive: true }).messages === 0)
  })

  test('TTL 0 delivers to a waiting consumer or expires at once', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('dlq')
    s.declareQueue('q', { args: { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } })
    s.publish(msg('nobody'))
    expect(s.declareQueue('q', { passive: true }).messages).toBe(0)
    expect(s.declareQueue('dlq', { passive: true }).messages).toBe(1)
    s.consume('q', { noAck: true })
    await tick()
    s.publish(msg('someone'))
    expect(events.bodies()).toEqual(['someone'])
  })

  test('expired messages are dead-lettered with reason expired and original-expiration', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('dlq')
    s.declareQueue('q', { args: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } })
    s.publish(msg('x', { properties: { expiration: '5' } }))
    await waitFor(() => s.declareQueue('dlq', { passive: true }).messages === 1)
    const dead = s.get('dlq', { noAck: true })!.delivery.message
    const death = (dead.properties.headers!['x-death'] as Record<string, unknown>[])[0]!
    expect(death['reason']).toBe('expired')
    expect(death['original-expiration']).toBe('5')
    expect(dead.properties.expiration).toBeUndefined()
  })
})

/** Polled with purge: a passive declare counts as use and would keep the queue alive. */
function gone(s: Session, queue: string): boolean {
  try {
    s.purgeQueue(queue)
    return false
  } catch (error) {
    return (error as BrokerError).code === 'not-found'
  }
}

describe('queue expiry (x-expires)', () => {
  test('a passive declare counts as use', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-expires': 40 } })
    const until = Date.now() + 100
    while (Date.now() < until) {
      s.declareQueue('q', { passive: true })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    s.declareQueue('q', { passive: true })
  })

  test('an unused queue is deleted', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-expires': 30 } })
    await waitFor(() => gone(s, 'q'))
  })

  test('a queue with a consumer is not deleted; the clock starts when it goes', async () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-expires': 20 } })
    const tag = s.consume('q', { noAck: true })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(s.declareQueue('q', { passive: true }).consumers).toBe(1)
    s.cancel(tag)
    await waitFor(() => gone(s, 'q'))
  })
})
