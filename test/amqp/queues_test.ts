import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage, GetMessage } from 'amqplib'
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
  waitForDepth,
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

function lockedText(q: string): string {
  return (
    `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. ` +
    'It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.'
  )
}

describe('queue.declare', () => {
  test('queue.declare with an empty name creates a server-named amq.gen- queue', async () => {
    const { ch } = await amqplibChannel(conn)
    const ok = await ch.assertQueue('', { exclusive: true })
    expect(ok.queue).toMatch(/^amq\.gen-.+/)
    expect(ok.messageCount).toBe(0)
    expect(ok.consumerCount).toBe(0)
    const again = await ch.checkQueue(ok.queue)
    expect(again.queue).toBe(ok.queue)
    await ch.close()
  })

  test('queue.declare of a durable queue is idempotent and passive-checkable', async () => {
    const q = uniq('durable')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: true })
    await ch.assertQueue(q, { durable: true })
    const ok = await ch.checkQueue(q)
    expect(ok.queue).toBe(q)
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('queue.declare with another durable flag is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('durable-mismatch')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: true })
    await rejectsWithCode(
      ch.assertQueue(q, { durable: false }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`,
    )
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.deleteQueue(q)
    await ch2.close()
  })

  test('queue.declare with another x-message-ttl is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('args-mismatch')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 1000 } })
    await rejectsWithCode(
      ch.assertQueue(q, { exclusive: true, arguments: { 'x-message-ttl': 2000 } }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/'`,
    )
  })

  test('queue.declare passive of a missing queue is refused with 404 NOT_FOUND', async () => {
    const q = uniq('missing')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('queue.declare passive of a missing queue is refused with 404 (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = uniq('missing')
      await clientRejects(ch.queueDeclare(q, { passive: true }), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('queue.declare of a new amq.* name is refused with 403 ACCESS_REFUSED', async () => {
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(
      ch.assertQueue('amq.warren-test', { exclusive: true }),
      403,
      "ACCESS_REFUSED - queue name 'amq.warren-test' contains reserved prefix 'amq.*'",
    )
  })

  test('queue.declare-ok counts ready messages and consumers', async () => {
    const q = uniq('counts')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await waitForDepth(ch, q, 3)
    const { ch: consumerCh } = await amqplibChannel(conn)
    await consumerCh.prefetch(1)
    const delivered: ConsumeMessage[] = []
    await consumerCh.consume(q, (m) => m && delivered.push(m))
    // One message is out unacked; the other two stay ready. Counts are of ready messages.
    await within(
      (async () => {
        for (;;) {
          const ok = await ch.checkQueue(q)
          if (ok.messageCount === 2 && delivered.length === 1) return ok
          await new Promise((r) => setTimeout(r, 10))
        }
      })(),
      3000,
      'one delivery and two ready messages',
    )
    const ok = await ch.assertQueue(q, { exclusive: true })
    expect(ok.messageCount).toBe(2)
    expect(ok.consumerCount).toBe(1)
    await consumerCh.close()
    const after = await ch.checkQueue(q)
    expect(after.messageCount).toBe(3)
    expect(after.consumerCount).toBe(0)
    await ch.close()
  })

  test('queue.declare-ok counts for amqp-client', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare(uniq('client-counts'), { exclusive: true })
      await ch.confirmSelect()
      for (let i = 0; i < 4; i++) await ch.basicPublish('', q.name, `m${i}`)
      const ok = await ch.queueDeclare(q.name, { passive: true })
      expect(ok).toEqual({ name: q.name, messageCount: 4, consumerCount: 0 })
    } finally {
      await clientCloseQuietly(client)
    }
  })
})

describe('exclusive queues', () => {
  test('exclusive queue used from another connection is refused with 405 RESOURCE_LOCKED', async () => {
    const q = uniq('exclusive')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const other = await amqplibConnect(broker.amqpUrl)
    try {
      const { ch: c1 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c1.checkQueue(q), 405, lockedText(q))
      const { ch: c2 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c2.consume(q, () => {}), 405, lockedText(q))
      const { ch: c3 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c3.assertQueue(q, { exclusive: true }), 405, lockedText(q))
      const { ch: c4 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c4.deleteQueue(q), 405, lockedText(q))
      const { ch: c5 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c5.purgeQueue(q), 405, lockedText(q))
      const { ch: c6 } = await amqplibChannel(other.conn)
      await rejectsWithCode(c6.get(q), 405, lockedText(q))
    } finally {
      await closeQuietly(other.conn)
    }
    await ch.close()
  })

  test('exclusive queue used from another connection is refused with 405 (amqp-client)', async () => {
    const q = uniq('exclusive')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const client = await clientConnect(broker.amqpUrl)
    try {
      const cch = await client.channel()
      await clientRejects(cch.queueDeclare(q, { passive: true }), 405, 'RESOURCE_LOCKED - cannot obtain exclusive access to locked queue')
    } finally {
      await clientCloseQuietly(client)
    }
    await ch.close()
  })

  test('exclusive queue is deleted when its connection closes', async () => {
    const q = uniq('exclusive-gone')
    const owner = await amqplibConnect(broker.amqpUrl)
    const { ch } = await amqplibChannel(owner.conn)
    await ch.assertQueue(q, { exclusive: true })
    ch.sendToQueue(q, Buffer.from('x'))
    await ch.checkQueue(q)
    await owner.conn.close()
    const { ch: probe } = await amqplibChannel(conn)
    await rejectsWithCode(probe.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('exclusive queue survives its declaring channel closing', async () => {
    const q = uniq('exclusive-channel')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.close()
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.checkQueue(q)
    await ch2.deleteQueue(q)
    await ch2.close()
  })
})

describe('auto-delete queues', () => {
  test('auto-delete queue is deleted when its last consumer cancels', async () => {
    const q = uniq('auto-delete')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { autoDelete: true, durable: false })
    const a = await ch.consume(q, () => {})
    const b = await ch.consume(q, () => {})
    await ch.cancel(a.consumerTag)
    await ch.checkQueue(q)
    await ch.cancel(b.consumerTag)
    await rejectsWithCode(ch.checkQueue(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('auto-delete queue that never had a consumer stays', async () => {
    const q = uniq('auto-delete-unused')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { autoDelete: true, durable: false })
    const other = await amqplibConnect(broker.amqpUrl)
    const { ch: och } = await amqplibChannel(other.conn)
    await och.checkQueue(q)
    await other.conn.close()
    await ch.checkQueue(q)
    await ch.deleteQueue(q)
    await ch.close()
  })

  test('auto-delete queue is deleted when the consuming channel closes', async () => {
    const q = uniq('auto-delete-close')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { autoDelete: true, durable: false })
    const { ch: consumer } = await amqplibChannel(conn)
    await consumer.consume(q, () => {})
    await consumer.close()
    await rejectsWithCode(ch.checkQueue(q), 404)
  })
})

describe('queue.purge and queue.delete', () => {
  test('queue.purge returns the number of messages purged', async () => {
    const q = uniq('purge')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await waitForDepth(ch, q, 5)
    expect((await ch.purgeQueue(q)).messageCount).toBe(5)
    expect((await ch.checkQueue(q)).messageCount).toBe(0)
    expect((await ch.purgeQueue(q)).messageCount).toBe(0)
    await ch.close()
  })

  test('queue.purge leaves unacked messages alone', async () => {
    const q = uniq('purge-unacked')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await waitForDepth(ch, q, 3)
    const msg = await ch.get(q)
    expect(msg).not.toBe(false)
    expect((await ch.purgeQueue(q)).messageCount).toBe(2)
    ch.nack(msg as GetMessage, false, true)
    await waitForDepth(ch, q, 1)
    await ch.close()
  })

  test('queue.purge returns the count (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare(uniq('client-purge'), { exclusive: true })
      await ch.confirmSelect()
      for (let i = 0; i < 3; i++) await ch.basicPublish('', q.name, `m${i}`)
      expect(await ch.queuePurge(q.name)).toEqual({ messageCount: 3 })
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('queue.delete returns the number of messages deleted', async () => {
    const q = uniq('delete-count')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`))
    await waitForDepth(ch, q, 4)
    expect((await ch.deleteQueue(q)).messageCount).toBe(4)
    await rejectsWithCode(ch.checkQueue(q), 404)
  })

  test('queue.delete of a missing queue succeeds with count 0', async () => {
    const { ch } = await amqplibChannel(conn)
    expect((await ch.deleteQueue(uniq('never-declared'))).messageCount).toBe(0)
    await ch.close()
  })

  test('queue.delete if-unused of a consumed queue is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('delete-in-use')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    const { ch: consumer } = await amqplibChannel(conn)
    await consumer.consume(q, () => {})
    await rejectsWithCode(ch.deleteQueue(q, { ifUnused: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`)
    await consumer.close()
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.deleteQueue(q, { ifUnused: true })
    await rejectsWithCode(ch2.checkQueue(q), 404)
  })

  test('queue.delete if-empty of a non-empty queue is refused with 406 PRECONDITION_FAILED', async () => {
    const q = uniq('delete-not-empty')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    ch.sendToQueue(q, Buffer.from('x'))
    await waitForDepth(ch, q, 1)
    await rejectsWithCode(ch.deleteQueue(q, { ifEmpty: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`)
    const { ch: ch2 } = await amqplibChannel(conn)
    await ch2.purgeQueue(q)
    expect((await ch2.deleteQueue(q, { ifEmpty: true })).messageCount).toBe(0)
    await ch2.close()
  })

  test('queue.delete returns the count (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const q = await ch.queueDeclare(uniq('client-delete'), { exclusive: true })
      await ch.confirmSelect()
      for (let i = 0; i < 2; i++) await ch.basicPublish('', q.name, `m${i}`)
      expect(await ch.queueDelete(q.name)).toEqual({ messageCount: 2 })
    } finally {
      await clientCloseQuietly(client)
    }
  })
})

describe('queue.bind', () => {
  test('queue.bind with different arguments creates distinct bindings', async () => {
    const q = uniq('bind-args')
    const x = uniq('x')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.bindQueue(q, x, 'k', { tag: 'one' })
    await ch.bindQueue(q, x, 'k', { tag: 'two' })
    await ch.bindQueue(q, x, 'k', { tag: 'two' })
    const cch = await conn.createConfirmChannel()
    cch.publish(x, 'k', Buffer.from('1'))
    await cch.waitForConfirms()
    // Two bindings to the same queue still deliver one copy.
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
    await ch.unbindQueue(q, x, 'k', { tag: 'one' })
    cch.publish(x, 'k', Buffer.from('2'))
    await cch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(2)
    await ch.unbindQueue(q, x, 'k', { tag: 'two' })
    cch.publish(x, 'k', Buffer.from('3'))
    await cch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(2)
    await cch.close()
    await ch.close()
  })

  test('queue.bind to a missing queue is refused with 404 NOT_FOUND', async () => {
    const q = uniq('missing-q')
    const { ch } = await amqplibChannel(conn)
    await rejectsWithCode(ch.bindQueue(q, 'amq.direct', 'k'), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`)
  })

  test('queue.bind to a missing exchange is refused with 404 NOT_FOUND', async () => {
    const q = uniq('q')
    const x = uniq('missing-x')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await rejectsWithCode(ch.bindQueue(q, x, 'k'), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`)
  })

  test('queue.unbind of a binding that does not exist succeeds', async () => {
    const q = uniq('q')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    await ch.unbindQueue(q, 'amq.direct', 'never-bound')
    await ch.close()
  })

  test('queue.delete removes the queue bindings', async () => {
    const q = uniq('q')
    const x = uniq('x')
    const { ch } = await amqplibChannel(conn)
    await ch.assertExchange(x, 'fanout', { durable: false })
    await ch.assertQueue(q, { exclusive: true })
    await ch.bindQueue(q, x, '')
    await ch.deleteQueue(q)
    await ch.assertQueue(q, { exclusive: true })
    const cch = await conn.createConfirmChannel()
    cch.publish(x, '', Buffer.from('after'))
    await cch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(0)
    await cch.close()
    await ch.close()
  })
})
