import { describe, expect, test } from 'bun:test'
import { client, msg, testBroker, text, tick } from './testing.ts'

function drain(s: ReturnType<typeof client>['session'], queue: string): string[] {
  const out: string[] = []
  for (let r = s.get(queue, { noAck: true }); r !== null; r = s.get(queue, { noAck: true })) out.push(text(r.delivery.message))
  return out
}

describe('x-max-length / x-max-length-bytes', () => {
  test('drop-head (default) keeps the newest messages', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-max-length': 2 } })
    for (const b of ['1', '2', '3', '4']) expect(s.publish(msg(b))).toBe('routed')
    expect(drain(s, 'q')).toEqual(['3', '4'])
  })

  test('max-length-bytes counts ready body bytes', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-max-length-bytes': 10 } })
    for (const b of ['aaaa', 'bbbb', 'cccc']) s.publish(msg(b))
    expect(drain(s, 'q')).toEqual(['bbbb', 'cccc'])
  })

  test('only ready messages count: unacked ones do not', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q', { args: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    s.publish(msg('1'))
    s.get('q', { noAck: false })
    s.publish(msg('2'))
    expect(s.declareQueue('q', { passive: true }).messages).toBe(1)
  })

  test('max-length 0 with a consumer delivers; without one drops', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('q', { args: { 'x-max-length': 0 } })
    s.publish(msg('dropped'))
    s.consume('q', { noAck: true })
    await tick()
    s.publish(msg('delivered'))
    expect(events.bodies()).toEqual(['delivered'])
  })

  test('reject-publish-dlx dead-letters the refused message with reason maxlen', async () => {
    const { session: s, events } = client(testBroker())
    s.declareQueue('dlq')
    s.declareQueue('q', {
      args: { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' },
    })
    s.publish(msg('1'), { confirmId: 1 })
    s.publish(msg('2'), { confirmId: 2 })
    await tick()
    expect(events.allRejected).toEqual([2])
    const dead = s.get('dlq', { noAck: true })!.delivery.message
    expect(text(dead)).toBe('2')
    expect(dead.properties.headers?.['x-first-death-reason']).toBe('maxlen')
  })

  test('drop-head dead-letters the dropped head with reason maxlen', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('dlq')
    s.declareQueue('q', { args: { 'x-max-length': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } })
    s.publish(msg('old'))
    s.publish(msg('new'))
    expect(drain(s, 'q')).toEqual(['new'])
    const dead = s.get('dlq', { noAck: true })!.delivery.message
    expect([text(dead), dead.properties.headers?.['x-last-death-reason']]).toEqual(['old', 'maxlen'])
  })
})

describe('priority queues (x-max-priority)', () => {
  test('higher priority first, FIFO within a priority, above max counts as max', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('p', { args: { 'x-max-priority': 5 } })
    const publish = (b: string, priority?: number) =>
      s.publish(msg(b, { routingKey: 'p', properties: priority === undefined ? {} : { priority } }))
    publish('none')
    publish('p1a', 1)
    publish('p9', 9)
    publish('p5', 5)
    publish('p1b', 1)
    expect(drain(s, 'p')).toEqual(['p9', 'p5', 'p1a', 'p1b', 'none'])
  })

  test('a queue without x-max-priority ignores priorities', () => {
    const { session: s } = client(testBroker())
    s.declareQueue('q')
    s.publish(msg('a', { properties: { priority: 1 } }))
    s.publish(msg('b', { properties: { priority: 9 } }))
    expect(drain(s, 'q')).toEqual(['a', 'b'])
  })
})
