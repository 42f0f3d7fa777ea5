// Quorum queues over AMQP with amqplib against a real broker: declare rules and RabbitMQ's
// refusal texts, x-delivery-count and x-delivery-limit with dead-lettering, reject-publish,
// and the queue type as the management API reports it (HTTP declare included).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib'
import { amqplibConnect, closeQuietly, consumeN, rejectsWithCode, uniq, waitForDepth, within } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { apiFor } from '../http/management_client.ts'

let broker: TestBroker
let conn: ChannelModel
let ch: Channel

const QQ = { 'x-queue-type': 'quorum' }

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

/** A channel for an operation expected to close it. */
async function spareChannel(): Promise<Channel> {
  const spare = await conn.createChannel()
  spare.on('error', () => {})
  return spare
}

/** The next message a consumer on `queue` gets (the consumer is cancelled after it). */
async function nextMessage(c: Channel, queue: string): Promise<ConsumeMessage> {
  let resolve: (m: ConsumeMessage) => void = () => {}
  const got = new Promise<ConsumeMessage>((r) => {
    resolve = r
  })
  const { consumerTag } = await c.consume(queue, (m) => {
    if (m !== null) resolve(m)
  })
  const message = await within(got, 5000, `a message from ${queue}`)
  await c.cancel(consumerTag)
  return message
}

describe('declaring a quorum queue', () => {
  test('durable is accepted, redeclared and reported as type quorum', async () => {
    const q = uniq('qq')
    const ok = await ch.assertQueue(q, { durable: true, arguments: QQ })
    expect(ok).toMatchObject({ queue: q, messageCount: 0, consumerCount: 0 })
    await ch.assertQueue(q, { durable: true, arguments: QQ })
    const got = await apiFor(broker)('GET', `/queues/%2F/${q}`)
    expect(got.body).toMatchObject({ name: q, type: 'quorum', durable: true, auto_delete: false, exclusive: false })
    expect(got.body.arguments).toEqual(QQ)
    await ch.deleteQueue(q)
  })

  const refused: [string, object, string][] = [
    ['non-durable', { durable: false }, 'non-durable'],
    ['exclusive', { durable: true, exclusive: true }, 'exclusive-owner'],
    ['auto-delete', { durable: true, autoDelete: true }, 'auto-delete'],
  ]
  for (const [what, opts, property] of refused) {
    test(`a ${what} quorum queue is 406 PRECONDITION_FAILED`, async () => {
      const q = uniq('qq')
      const text = `PRECONDITION_FAILED - invalid property '${property}' for queue '${q}' in vhost '/'`
      await rejectsWithCode((await spareChannel()).assertQueue(q, { ...opts, arguments: QQ }), 406, text)
      await rejectsWithCode((await spareChannel()).checkQueue(q), 404)
    })
  }

  test('arguments of other queue types are refused by name', async () => {
    const q = uniq('qq')
    await rejectsWithCode(
      (await spareChannel()).assertQueue(q, { durable: true, arguments: { ...QQ, 'x-max-priority': 10 } }),
      406,
      `invalid arg 'x-max-priority' for queue '${q}' in vhost '/' of queue type rabbit_quorum_queue`,
    )
  })

  test('redeclaring without x-queue-type or as classic is an inequivalent x-queue-type', async () => {
    const q = uniq('qq')
    await ch.assertQueue(q, { durable: true, arguments: QQ })
    await rejectsWithCode(
      (await spareChannel()).assertQueue(q, { durable: true }),
      406,
      `inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received none but current is the value 'quorum' of type 'longstr'`,
    )
    await rejectsWithCode(
      (await spareChannel()).assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
      406,
      `received the value 'classic' of type 'longstr' but current is the value 'quorum' of type 'longstr'`,
    )
    await ch.deleteQueue(q)
  })

  test('streams stay refused with a text naming them', async () => {
    const q = uniq('stream')
    await rejectsWithCode(
      (await spareChannel()).assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } }),
      406,
      "unsupported queue type 'stream': streams are not supported by Warren",
    )
  })
})

describe('delivery count and limit', () => {
  test('redeliveries carry x-delivery-count; past x-delivery-limit the message is dead-lettered', async () => {
    const q = uniq('qq')
    const dlq = uniq('dlq')
    await ch.assertQueue(dlq, { durable: true, arguments: QQ })
    await ch.assertQueue(q, {
      durable: true,
      arguments: { ...QQ, 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq },
    })
    ch.sendToQueue(q, Buffer.from('m'), { headers: { mine: 'yes' } })

    const first = await nextMessage(ch, q)
    expect(first.fields.redelivered).toBe(false)
    expect(first.properties.headers).toEqual({ mine: 'yes' })
    ch.nack(first, false, true)
    const second = await nextMessage(ch, q)
    expect(second.fields.redelivered).toBe(true)
    expect(second.properties.headers?.['x-delivery-count']).toBe(1)
    expect(second.properties.headers?.['mine']).toBe('yes')
    ch.nack(second, false, true)

    await waitForDepth(ch, dlq, 1)
    expect((await ch.checkQueue(q)).messageCount).toBe(0)
    const [dead] = await consumeN(ch, dlq, 1, { ack: true })
    const headers = dead!.properties.headers!
    expect(dead!.content.toString()).toBe('m')
    expect(headers['x-first-death-reason']).toBe('delivery_limit')
    expect(headers['x-first-death-queue']).toBe(q)
    const death = (headers['x-death'] as unknown as Record<string, unknown>[])[0]!
    expect(death).toMatchObject({ reason: 'delivery_limit', queue: q, count: 1, exchange: '', 'routing-keys': [q] })
    await ch.deleteQueue(q)
    await ch.deleteQueue(dlq)
  })

  test('basic.get reports x-delivery-count from 0; a channel close counts as a return', async () => {
    const q = uniq('qq')
    await ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-delivery-limit': 1 } })
    ch.sendToQueue(q, Buffer.from('g'))
    await waitForDepth(ch, q, 1)
    const other = await conn.createChannel()
    const got = await other.get(q)
    expect(got && got.properties.headers?.['x-delivery-count']).toBe(0)
    await other.close()
    await waitForDepth(ch, q, 1)
    const again = await ch.get(q)
    expect(again && again.fields.redelivered).toBe(true)
    expect(again && again.properties.headers?.['x-delivery-count']).toBe(1)
    ch.nack(again as never, false, true)
    // The second return is past the limit; there is no DLX, so the message is dropped.
    await waitForDepth(ch, q, 0)
    await ch.deleteQueue(q)
  })

  test('reject-publish: the queue may run over by one, then publishes are nacked', async () => {
    const q = uniq('qq')
    await ch.assertQueue(q, { durable: true, arguments: { ...QQ, 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    const confirm = await conn.createConfirmChannel()
    const outcome = (body: string) =>
      new Promise<boolean>((resolve) => confirm.sendToQueue(q, Buffer.from(body), {}, (err) => resolve(err === null || err === undefined)))
    expect(await outcome('1')).toBe(true)
    expect(await outcome('2')).toBe(true)
    expect(await outcome('3')).toBe(false)
    expect((await ch.checkQueue(q)).messageCount).toBe(2)
    await confirm.close()
    await ch.deleteQueue(q)
  })
})

describe('the management API', () => {
  test('PUT /api/queues declares a quorum queue; a non-durable one is 400 with the reason', async () => {
    const api = apiFor(broker)
    const q = uniq('http-qq')
    const put = await api('PUT', `/queues/%2F/${q}`, { durable: true, arguments: QQ })
    expect(put.status).toBe(201)
    expect((await api('GET', `/queues/%2F/${q}`)).body.type).toBe('quorum')
    const listed = (await api('GET', '/queues/%2F')).body as { name: string; type: string }[]
    expect(listed.find((x) => x.name === q)?.type).toBe('quorum')
    await ch.assertQueue(q, { durable: true, arguments: QQ })

    const bad = uniq('http-qq')
    const refused = await api('PUT', `/queues/%2F/${bad}`, { durable: false, arguments: QQ })
    expect(refused.status).toBe(400)
    expect(refused.body).toEqual({ error: 'bad_request', reason: `invalid property 'non-durable' for queue '${bad}' in vhost '/'` })
    expect((await api('GET', `/queues/%2F/${q}`)).status).toBe(200)
    await ch.deleteQueue(q)
  })
})
