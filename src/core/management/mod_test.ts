import { describe, expect, test } from 'bun:test'
import { caught, client, msg, testBroker, text, tick } from '../testing.ts'

const guest = { name: 'guest', tags: ['administrator'] }

describe('Management summaries', () => {
  test('queue lengths, consumers and counters follow publishes, deliveries and acks', async () => {
    const broker = testBroker()
    const m = broker.management
    const c = client(broker)
    c.session.declareQueue('q')
    for (let i = 0; i < 3; i++) c.session.publish(msg(`m${i}`))
    c.session.consume('q', { noAck: false, prefetch: 1 })
    await tick()
    const q = m.queue('/', 'q')!
    expect(q.lengths).toMatchObject({ messages: 3, ready: 2, unacked: 1 })
    expect(q.consumers).toBe(1)
    expect(q.activity.totals).toMatchObject({ publish: 3, deliver: 1, ack: 0 })
    c.session.settle(c.events.deliveries[0]!.id, 'ack')
    await tick()
    expect(m.queue('/', 'q')!.activity.totals).toMatchObject({ deliver: 2, ack: 1 })
    const o = m.overview()
    expect(o.totals).toMatchObject({ connections: 1, sessions: 1, consumers: 1, queues: 1, exchanges: 7, vhosts: 1 })
    expect(o.activity.totals).toMatchObject({ publish: 3, deliver: 2, ack: 1 })
    expect(o.lengths).toMatchObject({ messages: 2, ready: 1, unacked: 1 })
  })

  test('unroutable publishes and confirms count at the vhost', () => {
    const broker = testBroker()
    const c = client(broker)
    c.session.publish(msg('lost', { routingKey: 'nowhere' }), { confirmId: 1 })
    expect(broker.management.vhost('/')!.activity.totals).toMatchObject({ publish: 1, unroutable: 1, confirm: 1 })
  })

  test('mandatory unroutable publishes count as returned too; routed mandatory ones do not', () => {
    const broker = testBroker()
    const c = client(broker)
    c.session.declareQueue('q')
    c.session.publish(msg('lost', { routingKey: 'nowhere' }), { mandatory: true })
    c.session.publish(msg('lost', { routingKey: 'nowhere' }), { mandatory: true, confirmId: 1 })
    c.session.publish(msg('lost', { routingKey: 'nowhere' }))
    c.session.publish(msg('kept', { routingKey: 'q' }), { mandatory: true })
    expect(broker.management.overview().activity.totals).toMatchObject({ publish: 4, unroutable: 3, returned: 2 })
  })

  test('node(): this process, its alarms and limits', () => {
    const broker = testBroker()
    client(broker)
    const n = broker.management.node()
    expect(n).toMatchObject({ name: broker.management.overview().node, connections: 1, pid: process.pid, memoryAlarm: false, diskAlarm: false })
    expect(n.processors).toBeGreaterThan(0)
    expect(n.exchangeTypes).toContain('topic')
  })

  test('connections, sessions and consumers are listed with their numbers and names', () => {
    const broker = testBroker()
    const c = client(broker)
    c.connection.openSession(c.events)
    c.session.declareQueue('q')
    const tag = c.session.consume('q', { noAck: true })
    const m = broker.management
    const [conn] = m.connections()
    expect(conn).toMatchObject({ id: c.connection.id, protocol: 'amqp', user: 'guest', sessions: 2 })
    expect(conn!.name).toBe(`127.0.0.1:0 -> #${c.connection.id}`)
    expect(m.sessions().map((s) => s.number)).toEqual([1, 2])
    expect(m.consumers()).toEqual([expect.objectContaining({ tag, queue: 'q', sessionNumber: 1, noAck: true, active: true })])
    expect(m.closeConnection(conn!.name, 'bye')).toBe(true)
    expect(m.connections()).toEqual([])
    expect(m.closeConnection(conn!.name, 'bye')).toBe(false)
  })
})

describe('ManagementActor', () => {
  test('getMessages requeue shows messages and puts them back redelivered', () => {
    const broker = testBroker()
    const c = client(broker)
    c.session.declareQueue('q')
    c.session.publish(msg('a'))
    c.session.publish(msg('b'))
    const actor = broker.management.actor('/', guest)
    const first = actor.getMessages('q', { count: 5, settle: 'requeue' })
    expect(first.map((f) => [text(f.message), f.redelivered, f.remaining])).toEqual([
      ['a', false, 1],
      ['b', false, 0],
    ])
    const again = actor.getMessages('q', { count: 1, settle: 'ack' })
    expect([text(again[0]!.message), again[0]!.redelivered]).toEqual(['a', true])
    expect(broker.management.queue('/', 'q')!.lengths.messages).toBe(1)
  })

  test('permissions and exclusivity are checked as for a session', () => {
    const broker = testBroker()
    broker.users.add('u', 'p', ['management'])
    broker.permissions.set('/', 'u', { configure: '^u-', write: '.*', read: '.*' })
    const actor = broker.management.actor('/', { name: 'u', tags: ['management'] })
    actor.declareQueue('u-1')
    expect(caught(() => actor.declareQueue('other')).code).toBe('access-refused')
    const c = client(broker)
    c.session.declareQueue('excl', { exclusive: true })
    expect(caught(() => broker.management.actor('/', guest).purgeQueue('excl')).code).toBe('resource-locked')
    expect(caught(() => broker.management.actor('nowhere', guest)).code).toBe('not-found')
  })
})

describe('vhosts, users, permissions, definitions', () => {
  test('deleting a vhost force-closes its connections and forgets its permissions', () => {
    const broker = testBroker()
    const m = broker.management
    expect(m.putVhost('v', { description: 'd' }, 'guest')).toBe(true)
    expect(m.putVhost('v', { tags: ['t'] })).toBe(false)
    expect(m.vhost('v')).toMatchObject({ description: 'd', tags: ['t'] })
    const c = client(broker, { vhost: 'v' })
    const closed: string[] = []
    c.connection.onForcedClose((e) => closed.push(e.message))
    expect(m.deleteVhost('v')).toBe(true)
    expect(closed).toEqual(["vhost 'v' is deleted"])
    expect(m.permission('v', 'guest')).toBeUndefined()
    expect(m.deleteVhost('v')).toBe(false)
  })

  test('definitions round-trip into a fresh broker', () => {
    const a = testBroker()
    const c = client(a)
    c.session.declareQueue('q', { durable: true, args: { 'x-max-length': 5 } })
    c.session.declareExchange('x', 'topic', { durable: true })
    c.session.bind({ source: 'x', destination: 'q', destinationKind: 'queue', routingKey: 'k.#' })
    c.session.declareQueue('mine', { exclusive: true })
    a.management.putUser('u', { password: 'pw', tags: ['management'] })
    const defs = a.management.exportDefinitions()
    expect(defs.queues).toEqual([{ name: 'q', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 5 } }])
    const b = testBroker()
    b.management.importDefinitions(defs)
    expect(b.management.exportDefinitions()).toEqual(defs)
    expect(b.authenticate({ username: 'u', password: 'pw', remoteAddress: '10.0.0.1' }).tags).toEqual(['management'])
  })

  test('setPermission needs an existing user and vhost', () => {
    const m = testBroker().management
    expect(caught(() => m.setPermission({ user: 'nobody', vhost: '/', configure: '', write: '', read: '' })).message).toBe("user 'nobody' not found")
    expect(caught(() => m.setPermission({ user: 'guest', vhost: 'none', configure: '', write: '', read: '' })).message).toBe("vhost 'none' not found")
    expect(m.setPermission({ user: 'guest', vhost: '/', configure: '', write: '', read: '' })).toBe(false)
  })
})
