import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, Options } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConnect,
  clientCloseQuietly,
  clientConnect,
  clientRejects,
  closeQuietly,
  rejectsWithCode,
  uniq,
  within,
} from '../helpers/amqp.ts'

let broker: TestBroker
let conn: ChannelModel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

interface Publish {
  routingKey: string
  body: string
  options?: Options.Publish
}

/**
 * Publishes through a confirm channel (confirms come after routing, so the queues hold the
 * messages by then) and drains each queue with basic.get, returning the bodies per queue.
 */
async function route(exchange: string, queues: string[], messages: Publish[]): Promise<Record<string, string[]>> {
  const ch = await conn.createConfirmChannel()
  try {
    for (const m of messages) ch.publish(exchange, m.routingKey, Buffer.from(m.body), m.options)
    await ch.waitForConfirms()
    const result: Record<string, string[]> = {}
    for (const q of queues) {
      const got: string[] = []
      for (let i = 0; i < 100; i++) {
        const msg = await ch.get(q, { noAck: true })
        if (msg === false) break
        got.push(msg.content.toString())
      }
      result[q] = got
    }
    return result
  } finally {
    await ch.close()
  }
}

/** Declares exclusive queues with the given names and returns them. */
async function queues(...names: string[]): Promise<string[]> {
  const ch = await conn.createChannel()
  for (const name of names) await ch.assertQueue(name, { exclusive: true })
  await ch.close()
  return names
}

describe('exchange types', () => {
  test('direct exchange routes on the exact routing key', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('direct')
    const [qa, qb] = await queues(uniq('qa'), uniq('qb'))
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.bindQueue(qa!, x, 'a')
    await ch.bindQueue(qb!, x, 'b')
    await ch.bindQueue(qb!, x, 'a')
    const got = await route(x, [qa!, qb!], [
      { routingKey: 'a', body: '1' },
      { routingKey: 'b', body: '2' },
      { routingKey: 'A', body: '3' },
      { routingKey: 'a.b', body: '4' },
    ])
    expect(got[qa!]).toEqual(['1'])
    expect(got[qb!]).toEqual(['1', '2'])
    await ch.close()
  })

  test('fanout exchange ignores the routing key and copies to every bound queue', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('fanout')
    const [qa, qb] = await queues(uniq('qa'), uniq('qb'))
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.bindQueue(qa!, x, 'ignored')
    await ch.bindQueue(qb!, x, '')
    const got = await route(x, [qa!, qb!], [
      { routingKey: 'anything', body: '1' },
      { routingKey: '', body: '2' },
    ])
    expect(got[qa!]).toEqual(['1', '2'])
    expect(got[qb!]).toEqual(['1', '2'])
    await ch.close()
  })

  test('topic exchange: * matches exactly one word, # matches zero or more', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('topic')
    const [star, hash, tail, head, exact] = await queues(uniq('star'), uniq('hash'), uniq('tail'), uniq('head'), uniq('exact'))
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.bindQueue(star!, x, 'a.*.c')
    await ch.bindQueue(hash!, x, '#')
    await ch.bindQueue(tail!, x, 'a.#')
    await ch.bindQueue(head!, x, '#.c')
    await ch.bindQueue(exact!, x, 'a.b.c')
    const keys = ['a.b.c', 'a.c', 'a', 'a.b.b.c', 'x.c', 'b.b.c']
    const got = await route(x, [star!, hash!, tail!, head!, exact!], keys.map((k) => ({ routingKey: k, body: k })))
    expect(got[star!]).toEqual(['a.b.c'])
    expect(got[hash!]).toEqual(keys)
    expect(got[tail!]).toEqual(['a.b.c', 'a.c', 'a', 'a.b.b.c'])
    expect(got[head!]).toEqual(['a.b.c', 'a.c', 'a.b.b.c', 'x.c', 'b.b.c'])
    expect(got[exact!]).toEqual(['a.b.c'])
    await ch.close()
  })

  test('topic exchange: # in the middle matches zero or more words', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('topic-mid')
    const [mid, stars] = await queues(uniq('mid'), uniq('stars'))
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.bindQueue(mid!, x, 'a.#.c')
    await ch.bindQueue(stars!, x, '*.*')
    const keys = ['a.c', 'a.b.c', 'a.b.b.c', 'a.b', 'b.c', 'a.c.d']
    const got = await route(x, [mid!, stars!], keys.map((k) => ({ routingKey: k, body: k })))
    expect(got[mid!]).toEqual(['a.c', 'a.b.c', 'a.b.b.c'])
    expect(got[stars!]).toEqual(['a.c', 'a.b', 'b.c'])
    await ch.close()
  })

  test('topic exchange treats empty words as words', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('topic-empty')
    const [middle, trailing, leading, all] = await queues(uniq('middle'), uniq('trailing'), uniq('leading'), uniq('all'))
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.bindQueue(middle!, x, 'a.*.b')
    await ch.bindQueue(trailing!, x, 'a.*')
    await ch.bindQueue(leading!, x, '*.a')
    await ch.bindQueue(all!, x, '#')
    const keys = ['a..b', 'a.', '.a', '', 'a.b', 'a.x.b']
    const got = await route(x, [middle!, trailing!, leading!, all!], keys.map((k) => ({ routingKey: k, body: `[${k}]` })))
    expect(got[middle!]).toEqual(['[a..b]', '[a.x.b]'])
    expect(got[trailing!]).toEqual(['[a.]', '[a.b]'])
    expect(got[leading!]).toEqual(['[.a]'])
    expect(got[all!]).toEqual(keys.map((k) => `[${k}]`))
    await ch.close()
  })

  test('headers exchange x-match all needs every header, x-match any needs one', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('headers')
    const [all, any] = await queues(uniq('all'), uniq('any'))
    await ch.assertExchange(x, 'headers', { durable: false })
    await ch.bindQueue(all!, x, '', { 'x-match': 'all', a: '1', b: 'two' })
    await ch.bindQueue(any!, x, '', { 'x-match': 'any', a: '1', b: 'two' })
    const got = await route(x, [all!, any!], [
      { routingKey: '', body: 'both', options: { headers: { a: '1', b: 'two' } } },
      { routingKey: '', body: 'both+extra', options: { headers: { a: '1', b: 'two', c: 'three' } } },
      { routingKey: '', body: 'only-a', options: { headers: { a: '1' } } },
      { routingKey: '', body: 'wrong-b', options: { headers: { a: '2', b: 'three' } } },
      { routingKey: 'a', body: 'none', options: { headers: {} } },
    ])
    expect(got[all!]).toEqual(['both', 'both+extra'])
    expect(got[any!]).toEqual(['both', 'both+extra', 'only-a'])
    await ch.close()
  })

  test('headers exchange defaults to x-match all and ignores the routing key', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('headers-default')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(x, 'headers', { durable: false })
    await ch.bindQueue(q!, x, 'some-key', { a: '1', b: '2' })
    const got = await route(x, [q!], [
      { routingKey: 'other', body: 'both', options: { headers: { a: '1', b: '2' } } },
      { routingKey: 'some-key', body: 'one', options: { headers: { a: '1' } } },
    ])
    expect(got[q!]).toEqual(['both'])
    await ch.close()
  })

  test('headers exchange all/any ignore x- headers, all-with-x/any-with-x match them', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('headers-x')
    const [all, allWithX, any, anyWithX] = await queues(uniq('all'), uniq('all-with-x'), uniq('any'), uniq('any-with-x'))
    await ch.assertExchange(x, 'headers', { durable: false })
    await ch.bindQueue(all!, x, '', { 'x-match': 'all', 'x-tenant': 't1', a: '1' })
    await ch.bindQueue(allWithX!, x, '', { 'x-match': 'all-with-x', 'x-tenant': 't1', a: '1' })
    await ch.bindQueue(any!, x, '', { 'x-match': 'any', 'x-tenant': 't1' })
    await ch.bindQueue(anyWithX!, x, '', { 'x-match': 'any-with-x', 'x-tenant': 't1' })
    const got = await route(x, [all!, allWithX!, any!, anyWithX!], [
      { routingKey: '', body: 'a-only', options: { headers: { a: '1' } } },
      { routingKey: '', body: 'a+tenant', options: { headers: { a: '1', 'x-tenant': 't1' } } },
      { routingKey: '', body: 'tenant-only', options: { headers: { 'x-tenant': 't1' } } },
    ])
    expect(got[all!]).toEqual(['a-only', 'a+tenant'])
    expect(got[allWithX!]).toEqual(['a+tenant'])
    expect(got[any!]).toEqual([])
    expect(got[anyWithX!]).toEqual(['a+tenant', 'tenant-only'])
    await ch.close()
  })

  test('default exchange routes to the queue named by the routing key', async () => {
    const [q] = await queues(uniq('default'))
    const got = await route('', [q!], [
      { routingKey: q!, body: 'hit' },
      { routingKey: `${q}-nope`, body: 'miss' },
    ])
    expect(got[q!]).toEqual(['hit'])
  })

  test('queue.bind to the default exchange is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    const [q] = await queues(uniq('default-bind'))
    await rejectsWithCode(ch.bindQueue(q!, '', 'x'), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange')
  })
})

describe('predeclared exchanges', () => {
  test('amq.direct, amq.fanout, amq.topic, amq.headers and amq.match exist with their types', async () => {
    const { ch } = await amqplibChannel(conn)
    const types: Record<string, string> = {
      'amq.direct': 'direct',
      'amq.fanout': 'fanout',
      'amq.topic': 'topic',
      'amq.headers': 'headers',
      'amq.match': 'headers',
    }
    for (const [name, type] of Object.entries(types)) {
      await ch.checkExchange(name)
      // Redeclaring an existing amq.* exchange equivalently is allowed (durable, as RabbitMQ has them).
      await ch.assertExchange(name, type, { durable: true })
    }
    await ch.close()
  })

  test('amq.direct and amq.topic route like their types', async () => {
    const { ch } = await amqplibChannel(conn)
    const [qd, qt] = await queues(uniq('amq-direct'), uniq('amq-topic'))
    const key = uniq('key')
    await ch.bindQueue(qd!, 'amq.direct', key)
    await ch.bindQueue(qt!, 'amq.topic', `${key}.#`)
    const direct = await route('amq.direct', [qd!], [{ routingKey: key, body: 'd' }])
    const topic = await route('amq.topic', [qt!], [{ routingKey: `${key}.x.y`, body: 't' }])
    expect(direct[qd!]).toEqual(['d'])
    expect(topic[qt!]).toEqual(['t'])
    await ch.close()
  })

  test('exchange.declare of a new amq.* name is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertExchange('amq.warren-test', 'direct'),
      403,
      "ACCESS_REFUSED - exchange name 'amq.warren-test' contains reserved prefix 'amq.*'",
    )
  })

  test('exchange.delete of amq.direct is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.deleteExchange('amq.direct'), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed")
  })
})

describe('exchange.declare', () => {
  test('exchange.declare passive of a missing exchange is refused with 404 NOT_FOUND', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('missing')
    await rejectsWithCode(ch.checkExchange(x), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`)
  })

  test('exchange.declare passive of a missing exchange is refused with 404 (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const x = uniq('missing')
      await clientRejects(ch.exchangeDeclare(x, 'direct', { passive: true }), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('exchange.declare with another type is refused with 406 PRECONDITION_FAILED', async () => {
    const x = uniq('redeclare-type')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'direct', { durable: false })
    await rejectsWithCode(
      ch.assertExchange(x, 'fanout', { durable: false }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`,
    )
  })

  test('exchange.declare with another durable flag is refused with 406 PRECONDITION_FAILED', async () => {
    const x = uniq('redeclare-durable')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: false })
    await rejectsWithCode(
      ch.assertExchange(x, 'direct', { durable: true }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '${x}' in vhost '/': received 'true' but current is 'false'`,
    )
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.deleteExchange(x)
    await ch2.close()
  })

  test('exchange.declare with another alternate-exchange is refused with 406 PRECONDITION_FAILED', async () => {
    const x = uniq('redeclare-args')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-one' })
    await rejectsWithCode(
      ch.assertExchange(x, 'direct', { durable: false, alternateExchange: 'ae-two' }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${x}' in vhost '/'`,
    )
  })

  test('exchange.declare with identical properties is idempotent', async () => {
    const x = uniq('idempotent')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.checkExchange(x)
    await ch.deleteExchange(x)
    await ch.close()
  })
})

describe('exchange.delete', () => {
  test('exchange.delete if-unused of a bound exchange is refused with 406 PRECONDITION_FAILED', async () => {
    const x = uniq('in-use')
    const { ch } = await amqplibChannel(conn)
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.bindQueue(q!, x, '')
    await rejectsWithCode(ch.deleteExchange(x, { ifUnused: true }), 406, `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`)
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.checkExchange(x)
    await ch2.deleteExchange(x)
    await rejectsWithCode(ch2.checkExchange(x), 404)
  })

  test('exchange.delete if-unused of an unbound exchange deletes it', async () => {
    const x = uniq('unused')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.deleteExchange(x, { ifUnused: true })
    await rejectsWithCode(ch.checkExchange(x), 404)
  })

  test('exchange.delete removes its bindings: a redeclared exchange routes nowhere', async () => {
    const x = uniq('deleted')
    const { ch } = await amqplibChannel(conn)
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.bindQueue(q!, x, '')
    await ch.deleteExchange(x)
    await ch.assertExchange(x, 'fanout', { durable: false })
    const got = await route(x, [q!], [{ routingKey: '', body: 'after' }])
    expect(got[q!]).toEqual([])
    await ch.close()
  })

  test('exchange.delete of a missing exchange succeeds', async () => {
    const { ch } = await amqplibChannel(conn)
    await ch.deleteExchange(uniq('never-declared'))
    await ch.close()
  })

  test('auto-delete exchange is deleted when its last binding goes', async () => {
    const x = uniq('auto-delete')
    const { ch } = await amqplibChannel(conn)
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true })
    await ch.checkExchange(x)
    await ch.bindQueue(q!, x, 'k1')
    await ch.bindQueue(q!, x, 'k2')
    await ch.unbindQueue(q!, x, 'k1')
    await ch.checkExchange(x)
    await ch.unbindQueue(q!, x, 'k2')
    await rejectsWithCode(ch.checkExchange(x), 404)
  })

  test('auto-delete exchange is deleted when its only bound queue is deleted', async () => {
    const x = uniq('auto-delete-q')
    const q = uniq('q')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true })
    await ch.assertQueue(q, { exclusive: true })
    await ch.bindQueue(q, x, '')
    await ch.deleteQueue(q)
    await rejectsWithCode(ch.checkExchange(x), 404)
  })
})

describe('exchange bindings', () => {
  test('exchange.bind forwards messages from source to destination exchange', async () => {
    const { ch } = await amqplibChannel(conn)
    const src = uniq('src')
    const dst = uniq('dst')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(src, 'topic', { durable: false })
    await ch.assertExchange(dst, 'direct', { durable: false })
    await ch.bindExchange(dst, src, 'orders.#')
    await ch.bindQueue(q!, dst, 'orders.eu.new')
    const got = await route(src, [q!], [
      { routingKey: 'orders.eu.new', body: 'routed' },
      { routingKey: 'orders.us.new', body: 'dropped-by-direct' },
      { routingKey: 'invoices.eu.new', body: 'dropped-by-topic' },
    ])
    expect(got[q!]).toEqual(['routed'])
    await ch.unbindExchange(dst, src, 'orders.#')
    const after = await route(src, [q!], [{ routingKey: 'orders.eu.new', body: 'after-unbind' }])
    expect(after[q!]).toEqual([])
    await ch.close()
  })

  test('exchange bindings with a cycle deliver each message to a queue once', async () => {
    const { ch } = await amqplibChannel(conn)
    const a = uniq('cycle-a')
    const b = uniq('cycle-b')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(a, 'fanout', { durable: false })
    await ch.assertExchange(b, 'fanout', { durable: false })
    await ch.bindExchange(b, a, '')
    await ch.bindExchange(a, b, '')
    await ch.bindQueue(q!, a, '')
    await ch.bindQueue(q!, b, '')
    const got = await route(a, [q!], [{ routingKey: '', body: 'once' }])
    expect(got[q!]).toEqual(['once'])
    await ch.close()
  })

  test('exchange.bind to a missing source is refused with 404 NOT_FOUND', async () => {
    const { ch } = await amqplibChannel(conn)
    const dst = uniq('dst')
    const src = uniq('missing-src')
    await ch.assertExchange(dst, 'fanout', { durable: false })
    await rejectsWithCode(ch.bindExchange(dst, src, ''), 404, `NOT_FOUND - no exchange '${src}' in vhost '/'`)
  })

  test('internal exchange receives messages through an exchange binding', async () => {
    const { ch } = await amqplibChannel(conn)
    const pub = uniq('public')
    const internal = uniq('internal')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(pub, 'fanout', { durable: false })
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true })
    await ch.bindExchange(internal, pub, '')
    await ch.bindQueue(q!, internal, '')
    const got = await route(pub, [q!], [{ routingKey: '', body: 'via-binding' }])
    expect(got[q!]).toEqual(['via-binding'])
    await ch.close()
  })

  test('basic.publish to an internal exchange closes the channel with 403 ACCESS_REFUSED', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    const internal = uniq('internal')
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true })
    ch.publish(internal, '', Buffer.from('nope'))
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(403)
    expect(error?.message).toContain(`ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`)
  })

  test('basic.publish to a missing exchange closes the channel with 404 NOT_FOUND', async () => {
    const { ch, watch } = await amqplibChannel(conn)
    const x = uniq('no-such-exchange')
    ch.publish(x, '', Buffer.from('nope'))
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(404)
    expect(error?.message).toContain(`NOT_FOUND - no exchange '${x}' in vhost '/'`)
  })
})

describe('alternate-exchange', () => {
  test('alternate-exchange receives what the exchange cannot route', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('with-ae')
    const ae = uniq('ae')
    const [routed, unrouted] = await queues(uniq('routed'), uniq('unrouted'))
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.bindQueue(unrouted!, ae, '')
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae })
    await ch.bindQueue(routed!, x, 'known')
    const got = await route(x, [routed!, unrouted!], [
      { routingKey: 'known', body: 'k' },
      { routingKey: 'unknown', body: 'u' },
    ])
    expect(got[routed!]).toEqual(['k'])
    expect(got[unrouted!]).toEqual(['u'])
    await ch.close()
  })

  test('alternate-exchange routing counts as routed for a mandatory publish', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('with-ae')
    const ae = uniq('ae')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.bindQueue(q!, ae, '')
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { 'alternate-exchange': ae } })
    const returns: string[] = []
    ch.on('return', (m: { content: Buffer }) => returns.push(m.content.toString()))
    ch.publish(x, 'unknown', Buffer.from('via-ae'), { mandatory: true })
    // Round trip: a synchronous method after the publish means any basic.return came before it.
    const { messageCount } = await ch.checkQueue(q!)
    expect(messageCount).toBe(1)
    expect(returns).toEqual([])
    const got = await route('', [q!], [])
    expect(got[q!]).toEqual(['via-ae'])
    await ch.close()
  })

  test('mandatory publish that neither the exchange nor its alternate-exchange routes is returned', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('with-empty-ae')
    const ae = uniq('empty-ae')
    await ch.assertExchange(ae, 'direct', { durable: false })
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: ae })
    const returned = new Promise<{ fields: unknown }>((resolve) => ch.once('return', resolve))
    ch.publish(x, 'nowhere', Buffer.from('bounce'), { mandatory: true })
    const msg = await within(returned, 3000, 'basic.return')
    expect(msg.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'nowhere' })
    await ch.close()
  })

  test('alternate-exchange that does not exist drops the message', async () => {
    const { ch } = await amqplibChannel(conn)
    const x = uniq('dangling-ae')
    const [q] = await queues(uniq('q'))
    await ch.assertExchange(x, 'direct', { durable: false, alternateExchange: uniq('missing-ae') })
    await ch.bindQueue(q!, x, 'known')
    const got = await route(x, [q!], [
      { routingKey: 'unknown', body: 'dropped' },
      { routingKey: 'known', body: 'kept' },
    ])
    expect(got[q!]).toEqual(['kept'])
    await ch.close()
  })
})
