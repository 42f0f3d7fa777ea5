import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { AMQPClient, type AMQPChannel, type AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { clientCloseQuietly, clientConnect, clientRejects, uniq } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

// amqplib has no tx API; amqp-client drives tx.select/commit/rollback here.
let broker: TestBroker
let client: AMQPClient

beforeAll(async () => {
  broker = await startBroker()
  client = await clientConnect(broker.amqpUrl)
})

afterAll(async () => {
  await clientCloseQuietly(client)
  await broker?.stop()
})

async function depth(queue: string): Promise<number> {
  const ch = await client.channel()
  const { messageCount } = await ch.queueDeclare(queue, { passive: true })
  await ch.close()
  return messageCount
}

async function queueWith(messages: string[]): Promise<string> {
  const ch = await client.channel()
  const q = uniq('tx')
  await ch.queueDeclare(q, { exclusive: false, autoDelete: false })
  await ch.confirmSelect()
  for (const m of messages) await ch.basicPublish('', q, m)
  await ch.close()
  return q
}

async function consumeAll(ch: AMQPChannel, queue: string, count: number): Promise<AMQPMessage[]> {
  const got: AMQPMessage[] = []
  await ch.basicConsume(queue, { noAck: false }, (m) => {
    got.push(m)
  })
  await waitFor(() => got.length === count)
  return got
}

describe('tx', () => {
  test('tx.commit makes the publishes of the transaction visible', async () => {
    const q = await queueWith([])
    const ch = await client.channel()
    await ch.txSelect()
    await ch.basicPublish('', q, 'one')
    await ch.basicPublish('', q, 'two')
    expect(await depth(q)).toBe(0)
    await ch.txCommit()
    expect(await depth(q)).toBe(2)
    // The channel stays transactional: the next publishes wait for the next commit.
    await ch.basicPublish('', q, 'three')
    expect(await depth(q)).toBe(2)
    await ch.txCommit()
    expect(await depth(q)).toBe(3)
    await ch.close()
  })

  test('tx.rollback discards the publishes of the transaction', async () => {
    const q = await queueWith([])
    const ch = await client.channel()
    await ch.txSelect()
    await ch.basicPublish('', q, 'discarded')
    await ch.txRollback()
    await ch.txCommit()
    expect(await depth(q)).toBe(0)
    await ch.basicPublish('', q, 'kept')
    await ch.txCommit()
    expect(await depth(q)).toBe(1)
    await ch.close()
  })

  test('tx.commit applies the acks of the transaction', async () => {
    const q = await queueWith(['a', 'b'])
    const ch = await client.channel()
    await ch.txSelect()
    const got = await consumeAll(ch, q, 2)
    await got[0]!.ack()
    await got[1]!.ack()
    await ch.txCommit()
    await ch.close()
    expect(await depth(q)).toBe(0)
  })

  test('tx.rollback discards the acks of the transaction; the messages stay unacked', async () => {
    const q = await queueWith(['a'])
    const ch = await client.channel()
    await ch.txSelect()
    const [msg] = await consumeAll(ch, q, 1)
    await msg!.ack()
    await ch.txRollback()
    // Still unacked by this channel, not requeued.
    expect(await depth(q)).toBe(0)
    await ch.close()
    // Closing the channel requeues what it never acked.
    await waitFor(async () => (await depth(q)) === 1)
  })

  test('tx.rollback discards a reject of the transaction', async () => {
    const q = await queueWith(['a'])
    const ch = await client.channel()
    await ch.txSelect()
    const [msg] = await consumeAll(ch, q, 1)
    await msg!.reject(false)
    await ch.txRollback()
    await ch.close()
    await waitFor(async () => (await depth(q)) === 1)
  })

  test('tx.commit without tx.select is refused with 406 PRECONDITION_FAILED', async () => {
    const ch = await client.channel()
    await clientRejects(ch.txCommit(), 406, 'PRECONDITION_FAILED - channel is not transactional')
  })

  test('tx.rollback without tx.select is refused with 406 PRECONDITION_FAILED', async () => {
    const ch = await client.channel()
    await clientRejects(ch.txRollback(), 406, 'PRECONDITION_FAILED - channel is not transactional')
  })

  test('confirm.select on a transactional channel is refused with 406 PRECONDITION_FAILED', async () => {
    const ch = await client.channel()
    await ch.txSelect()
    await clientRejects(ch.confirmSelect(), 406, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode')
  })

  test('tx.select on a confirm channel is refused with 406 PRECONDITION_FAILED', async () => {
    const ch = await client.channel()
    await ch.confirmSelect()
    await clientRejects(ch.txSelect(), 406, 'PRECONDITION_FAILED - cannot switch from confirm to tx mode')
  })

  test('tx.select twice is allowed', async () => {
    const ch = await client.channel()
    await ch.txSelect()
    await ch.txSelect()
    await ch.close()
  })
})
