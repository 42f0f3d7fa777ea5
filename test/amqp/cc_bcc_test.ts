import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, ChannelModel, GetMessage, Message } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConfirmChannel, amqplibConnect, closeQuietly, uniq, waitForDepth, within } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

// Sender-selected distribution (RabbitMQ docs): "CC" and "BCC" array headers add routing keys to
// one publish; each queue gets the message once; "BCC" never reaches a consumer.
let broker: TestBroker
let conn: ChannelModel
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
  ch = await conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

/** Declares `count` exclusive queues with unique names. */
async function queues(count: number): Promise<string[]> {
  const names: string[] = []
  for (let i = 0; i < count; i++) names.push((await ch.assertQueue(uniq('cc'), { exclusive: true })).queue)
  return names
}

/** Every message in `queue`, drained with basic.get (no-ack). */
async function drain(queue: string): Promise<GetMessage[]> {
  const got: GetMessage[] = []
  // Bounded: the tests put at most a handful of messages in a queue.
  for (let i = 0; i < 100; i++) {
    const m = await ch.get(queue, { noAck: true })
    if (m === false) return got
    got.push(m)
  }
  throw new Error(`queue ${queue} did not drain`)
}

describe('CC and BCC headers', () => {
  test('a direct publish reaches the CC and BCC queues once each; BCC is stripped, CC kept', async () => {
    const x = uniq('cc-direct')
    await ch.assertExchange(x, 'direct', { autoDelete: true })
    const [main, a, b, hidden] = await queues(4)
    for (const q of [main!, a!, b!, hidden!]) await ch.bindQueue(q, x, q)
    ch.publish(x, main!, Buffer.from('memo'), { headers: { CC: [a!, b!], BCC: [hidden!], other: 'kept' } })
    for (const q of [main!, a!, b!, hidden!]) await waitForDepth(ch, q, 1)
    for (const q of [main!, a!, b!, hidden!]) {
      const got = await drain(q)
      expect(got.length).toBe(1)
      const m = got[0]!
      expect(m.content.toString()).toBe('memo')
      expect(m.fields.routingKey).toBe(main!)
      expect(m.properties.headers?.CC).toEqual([a!, b!])
      expect(m.properties.headers?.other).toBe('kept')
      expect(m.properties.headers && 'BCC' in m.properties.headers).toBe(false)
    }
  })

  test('a queue named by the routing key and by CC and BCC too gets one copy', async () => {
    const [main, a] = await queues(2)
    ch.sendToQueue(main!, Buffer.from('once'), { headers: { CC: [main!, a!, a!], BCC: [main!] } })
    await waitForDepth(ch, a!, 1)
    await waitForDepth(ch, main!, 1)
    expect((await drain(main!)).length).toBe(1)
    expect((await drain(a!)).length).toBe(1)
  })

  test('through a topic exchange: patterns match any of the keys, overlapping ones give one copy', async () => {
    const x = uniq('cc-topic')
    await ch.assertExchange(x, 'topic', { autoDelete: true })
    const [orders, audit, both, none] = await queues(4)
    await ch.bindQueue(orders!, x, 'orders.*')
    await ch.bindQueue(audit!, x, 'audit.#')
    await ch.bindQueue(both!, x, 'orders.*')
    await ch.bindQueue(both!, x, 'audit.#')
    await ch.bindQueue(none!, x, 'nothing.*')
    ch.publish(x, 'orders.new', Buffer.from('t'), { headers: { BCC: ['audit.orders.new'] } })
    for (const q of [orders!, audit!, both!]) await waitForDepth(ch, q, 1)
    for (const q of [orders!, audit!, both!]) {
      const got = await drain(q)
      expect(got.length).toBe(1)
      expect(got[0]!.properties.headers?.BCC).toBeUndefined()
    }
    expect((await drain(none!)).length).toBe(0)
  })

  test('keys follow exchange-to-exchange bindings', async () => {
    const front = uniq('cc-front')
    const back = uniq('cc-back')
    await ch.assertExchange(front, 'direct', { autoDelete: true })
    await ch.assertExchange(back, 'direct', { autoDelete: true })
    const [q] = await queues(1)
    await ch.bindExchange(back, front, 'second')
    await ch.bindQueue(q!, back, 'second')
    ch.publish(front, 'first', Buffer.from('hop'), { headers: { CC: ['second'] } })
    await waitForDepth(ch, q!, 1)
    expect((await drain(q!)).map((m) => m.content.toString())).toEqual(['hop'])
  })

  test('entries that are not strings are skipped; an empty array adds nothing', async () => {
    const [main, a] = await queues(2)
    ch.sendToQueue(main!, Buffer.from('x'), { headers: { CC: [7, a!, true], BCC: [] } })
    await waitForDepth(ch, a!, 1)
    const [m] = await drain(main!)
    expect(m?.properties.headers?.BCC).toBeUndefined()
    expect((await drain(a!)).length).toBe(1)
  })

  test('mandatory: routed by a CC key alone is not returned; routed by none is', async () => {
    const own = await conn.createChannel()
    const returns: Message[] = []
    own.on('return', (m: Message) => returns.push(m))
    const [a] = await queues(1)
    own.publish('amq.direct', uniq('nowhere'), Buffer.from('cc'), { mandatory: true, headers: { CC: [uniq('nowhere')] } })
    const x = uniq('cc-m')
    await own.assertExchange(x, 'direct', { autoDelete: true })
    await own.bindQueue(a!, x, 'k')
    own.publish(x, uniq('nowhere'), Buffer.from('kept'), { mandatory: true, headers: { CC: ['k'] } })
    await waitForDepth(ch, a!, 1)
    await waitFor(() => returns.length >= 1, { message: 'basic.return' })
    expect(returns.map((m) => m.content.toString())).toEqual(['cc'])
    await own.close()
  })

  test('publisher confirms: one confirm per publish, whatever the number of queues', async () => {
    const { ch: confirm } = await amqplibConfirmChannel(conn)
    const acks: { deliveryTag: number; multiple: boolean }[] = []
    confirm.on('ack', (fields: { deliveryTag: number; multiple: boolean }) => acks.push(fields))
    const [main, a, b] = await queues(3)
    const confirmed: number[] = []
    for (let i = 1; i <= 3; i++) {
      confirm.sendToQueue(main!, Buffer.from(`c${i}`), { headers: { CC: [a!], BCC: [b!] } }, (err) => {
        if (err === null) confirmed.push(i)
      })
    }
    confirm.sendToQueue(main!, Buffer.from('plain'), {}, (err) => {
      if (err === null) confirmed.push(4)
    })
    await within(confirm.waitForConfirms(), 3000, 'confirms')
    expect(confirmed).toEqual([1, 2, 3, 4])
    // Never more than one settlement of a sequence number, never one past the last publish.
    const single = acks.filter((f) => !f.multiple).map((f) => f.deliveryTag)
    expect(new Set(single).size).toBe(single.length)
    expect(Math.max(...acks.map((f) => f.deliveryTag))).toBe(4)
    await waitForDepth(ch, b!, 3)
    expect((await drain(main!)).length).toBe(4)
    await confirm.close()
  })

  test('a CC header that is not an array fails the publish with 406, as RabbitMQ', async () => {
    const { ch: bad, watch } = await amqplibChannel(conn)
    const [main] = await queues(1)
    bad.sendToQueue(main!, Buffer.from('x'), { headers: { CC: 'not-an-array' } })
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain('PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}')
    expect((await drain(main!)).length).toBe(0)
  })
})
