import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  amqplibChannel,
  amqplibConfirmChannel,
  amqplibConnect,
  closeQuietly,
  consumeN,
  rejectsWithCode,
  uniq,
  within,
} from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

// Topic authorisation as RabbitMQ does it (rabbit_channel:check_topic_authorisation): publishes
// to a topic exchange check the routing key against the user's `write` pattern for that exchange,
// bindings check the binding key against `read`; without an entry nothing is checked.
let broker: TestBroker
const ALL = { configure: '.*', write: '.*', read: '.*' }

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** A user with full permissions on "/" and the given topic permissions. */
function makeUser(topics: { exchange: string; write: string; read: string }[] = []): string {
  const user = uniq('tp')
  const b = broker.server.broker
  b.users.add(user, 'pw')
  b.permissions.set('/', user, ALL)
  for (const t of topics) b.permissions.topics.set('/', user, t)
  return user
}

function urlFor(user: string): string {
  return `amqp://${user}:pw@127.0.0.1:${broker.amqpPort}`
}

/** Publishes on a fresh channel and returns the error the channel closes with. */
async function publishRefused(url: string, exchange: string, key: string): Promise<{ code?: number; message: string }> {
  const { conn } = await amqplibConnect(url)
  try {
    const { ch, watch } = await amqplibChannel(conn)
    ch.publish(exchange, key, Buffer.from('x'))
    const error = await within(watch.closed, 5000, 'the channel close')
    if (error === undefined) throw new Error('channel closed without an error')
    return error
  } finally {
    await closeQuietly(conn)
  }
}

/** Publishes with a confirm into a queue bound with `key` (bound as guest) and reads it back. */
async function publishDelivered(url: string, exchange: string, key: string): Promise<void> {
  const admin = await amqplibConnect(broker.amqpUrl)
  const { conn } = await amqplibConnect(url)
  try {
    const setup = await admin.conn.createChannel()
    const { queue } = await setup.assertQueue('', { exclusive: true })
    await setup.bindQueue(queue, exchange, key)
    const { ch } = await amqplibConfirmChannel(conn)
    const body = uniq('body')
    ch.publish(exchange, key, Buffer.from(body))
    await ch.waitForConfirms()
    const [m] = await consumeN(setup, queue, 1, { noAck: true })
    expect(m?.content.toString()).toBe(body)
  } finally {
    await closeQuietly(conn)
    await closeQuietly(admin.conn)
  }
}

describe('topic permissions: publish (write)', () => {
  test('a routing key that does not match write is refused with 403 and RabbitMQ\'s text', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '^allowed\\.', read: '.*' }])
    const error = await publishRefused(urlFor(user), 'amq.topic', 'denied.x')
    expect(error.code).toBe(403)
    expect(error.message).toContain(
      `ACCESS_REFUSED - write access to topic 'denied.x' in exchange 'amq.topic' in vhost '/' refused for user '${user}'`,
    )
  })

  test('a routing key that matches write is routed', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '^allowed\\.', read: '.*' }])
    await publishDelivered(urlFor(user), 'amq.topic', 'allowed.x')
  })

  test('"" means nothing may be written', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '', read: '.*' }])
    expect((await publishRefused(urlFor(user), 'amq.topic', 'a')).code).toBe(403)
  })

  test('{username} and {vhost} are expanded before matching', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '^{username}\\.{vhost}$', read: '.*' }])
    await publishDelivered(urlFor(user), 'amq.topic', `${user}./`)
    expect((await publishRefused(urlFor(user), 'amq.topic', 'someone-else./')).code).toBe(403)
  })

  test('{client_id} is MQTT only: for AMQP it stays literal, as in RabbitMQ', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '^{client_id}$', read: '.*' }])
    expect((await publishRefused(urlFor(user), 'amq.topic', 'anything')).code).toBe(403)
  })

  test('CC routing keys are checked too', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '^ok\\.', read: '.*' }])
    const { conn } = await amqplibConnect(urlFor(user))
    try {
      const { ch, watch } = await amqplibChannel(conn)
      ch.publish('amq.topic', 'ok.1', Buffer.from('x'), { headers: { CC: ['nope.2'] } })
      const error = await within(watch.closed, 5000, 'the channel close')
      expect(error?.message).toContain("write access to topic 'nope.2' in exchange 'amq.topic'")
    } finally {
      await closeQuietly(conn)
    }
  })

  test('users without topic permissions are not restricted', async () => {
    makeUser([{ exchange: 'amq.topic', write: '^$', read: '^$' }])
    const plain = makeUser()
    await publishDelivered(urlFor(plain), 'amq.topic', 'denied.x')
    await publishDelivered(broker.amqpUrl, 'amq.topic', 'denied.y')
  })

  test('non-topic exchanges are not checked, and other topic exchanges only by their own entry', async () => {
    const user = makeUser([
      { exchange: 'amq.direct', write: '^$', read: '^$' },
      { exchange: 'amq.topic', write: '^$', read: '^$' },
    ])
    await publishDelivered(urlFor(user), 'amq.direct', 'k')
    const other = uniq('tx')
    const admin = await amqplibConnect(broker.amqpUrl)
    try {
      await (await admin.conn.createChannel()).assertExchange(other, 'topic', { autoDelete: false, durable: false })
      await publishDelivered(urlFor(user), other, 'any.key')
    } finally {
      await closeQuietly(admin.conn)
    }
  })

  test('a change applies at once to open connections', async () => {
    const user = makeUser()
    const { conn } = await amqplibConnect(urlFor(user))
    try {
      const { ch, watch } = await amqplibConfirmChannel(conn)
      ch.publish('amq.topic', 'a.b', Buffer.from('x'))
      await ch.waitForConfirms()
      broker.server.broker.permissions.topics.set('/', user, { exchange: 'amq.topic', write: '^z', read: '.*' })
      ch.publish('amq.topic', 'a.b', Buffer.from('x'))
      expect((await within(watch.closed, 5000, 'the channel close'))?.code).toBe(403)
      broker.server.broker.permissions.topics.delete('/', user, 'amq.topic')
      const again = await amqplibConfirmChannel(conn)
      again.ch.publish('amq.topic', 'a.b', Buffer.from('x'))
      await again.ch.waitForConfirms()
    } finally {
      await closeQuietly(conn)
    }
  })
})

describe('topic permissions: bindings (read)', () => {
  test('queue.bind with a binding key that does not match read is refused', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '.*', read: '^mine\\.' }])
    const { conn } = await amqplibConnect(urlFor(user))
    try {
      const { ch: ok } = await amqplibChannel(conn)
      const { queue } = await ok.assertQueue('', { exclusive: true })
      await ok.bindQueue(queue, 'amq.topic', 'mine.#')
      await rejectsWithCode(
        ok.bindQueue(queue, 'amq.topic', 'other.#'),
        403,
        `ACCESS_REFUSED - read access to topic 'other.#' in exchange 'amq.topic' in vhost '/' refused for user '${user}'`,
      )
    } finally {
      await closeQuietly(conn)
    }
  })

  test('exchange.bind with a topic source checks the binding key; queue.unbind too', async () => {
    const user = makeUser([{ exchange: 'amq.topic', write: '.*', read: '^{username}\\.' }])
    const { conn } = await amqplibConnect(urlFor(user))
    try {
      const ch = await conn.createChannel()
      const dest = uniq('dx')
      await ch.assertExchange(dest, 'fanout', { autoDelete: false, durable: false })
      await ch.bindExchange(dest, 'amq.topic', `${user}.#`)
      const refused = await amqplibChannel(conn)
      await rejectsWithCode(refused.ch.bindExchange(dest, 'amq.topic', 'x.#'), 403, "read access to topic 'x.#'")
      const { queue } = await ch.assertQueue('', { exclusive: true })
      const second = await amqplibChannel(conn)
      await rejectsWithCode(second.ch.unbindQueue(queue, 'amq.topic', 'x.#'), 403, "read access to topic 'x.#'")
      await ch.deleteExchange(dest)
    } finally {
      await closeQuietly(conn)
    }
  })

  test('bindings to a non-topic exchange are not checked', async () => {
    const user = makeUser([{ exchange: 'amq.direct', write: '^$', read: '^$' }])
    const { conn } = await amqplibConnect(urlFor(user))
    try {
      const ch = await conn.createChannel()
      const { queue } = await ch.assertQueue('', { exclusive: true })
      await ch.bindQueue(queue, 'amq.direct', 'anything')
    } finally {
      await closeQuietly(conn)
    }
  })
})
