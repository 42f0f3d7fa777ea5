// A message that AMQP cannot carry (it entered through another protocol or the core with, say,
// a header name over 255 bytes or a header table nested deeper than the codec allows) must not
// take an AMQP consumer's connection, or the broker, down: it is rejected (dead-lettered when
// the queue has a DLX) and everything around it flows.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { FieldValue, Table } from '../../src/api.ts'
import { amqplibChannel, amqplibConnect, assertBrokerServes, closeQuietly, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'

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

function nested(depth: number): Table {
  let value: FieldValue = 'bottom'
  for (let i = 0; i < depth; i++) value = { k: value }
  return value as Table
}

/** Publishes straight into the core, past every adapter's input checks. */
function publishThroughCore(queue: string, body: string, headers?: Table): void {
  const core = broker.server.broker.connect({ protocol: 'http', vhost: '/', user: { name: 'guest', tags: ['administrator'] }, remoteAddress: '127.0.0.1' })
  try {
    const session = core.openSession({ deliver() {}, flush() {}, settled() {}, rejected() {}, consumerCancelled() {}, closed() {} })
    session.publish({ exchange: '', routingKey: queue, properties: headers === undefined ? {} : { headers }, body: new TextEncoder().encode(body) })
  } finally {
    core.close()
  }
}

const BAD_HEADERS: [string, Table][] = [
  ['a header name over 255 bytes', { ['k'.repeat(300)]: 1 }],
  ['headers nested deeper than the codec allows', { deep: nested(150) }],
]

describe('a message AMQP cannot encode', () => {
  for (const [what, headers] of BAD_HEADERS) {
    test(`${what}: the consumer gets the messages around it, the bad one is dead-lettered`, async () => {
      const { ch } = await amqplibChannel(conn)
      const q = uniq('unencodable')
      const dlq = `${q}.dead`
      await ch.assertQueue(dlq, { exclusive: true })
      await ch.assertQueue(q, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })
      publishThroughCore(q, 'before')
      publishThroughCore(q, 'bad', headers)
      publishThroughCore(q, 'after')
      const got: ConsumeMessage[] = []
      await ch.consume(q, (m) => {
        if (m !== null) {
          got.push(m)
          ch.ack(m)
        }
      })
      await waitFor(() => got.length >= 2, { message: 'the two good messages' })
      expect(got.map((m) => m.content.toString())).toEqual(['before', 'after'])
      await waitForDepth(ch, dlq, 1)
      // basic.get of such a message (the dead-lettered one still has the bad headers): get-empty,
      // and it is rejected too (dropped here: the dead-letter queue has no DLX of its own).
      publishThroughCore(dlq, 'bad again', headers)
      await waitForDepth(ch, dlq, 2)
      expect(await ch.get(dlq, { noAck: false })).toBe(false)
      await waitForDepth(ch, dlq, 1)
      await assertBrokerServes(broker.amqpUrl)
      await ch.close()
    })
  }

  test('the broker and other connections keep working', async () => {
    await assertBrokerServes(broker.amqpUrl)
    expect(broker.server.broker.connectionCount).toBeGreaterThan(0)
  })
})
