// A quorum queue keeps every message, whatever its delivery mode: transient messages confirmed
// on it survive kill -9 and a clean restart, while a classic durable queue beside it loses them.
// The queue comes back as a quorum queue (type, arguments, delivery limit).
import { afterAll, describe, expect, test } from 'bun:test'
import type { ConfirmChannel } from 'amqplib'
import { amqplibConnect, closeQuietly, rejectsWithCode, watch } from '../helpers/amqp.ts'
import { cleanup, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

const QQ = { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 }

async function confirmChannel(broker: BrokerProcess): Promise<{ ch: ConfirmChannel; close(): Promise<void> }> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  const ch = await conn.createConfirmChannel()
  watch(ch)
  return { ch, close: () => closeQuietly(conn) }
}

/** Publishes transient (delivery mode 1) messages "<prefix>-<i>" to `queue` and waits for the confirms. */
async function publishTransient(ch: ConfirmChannel, queue: string, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`${prefix}-${i}`), { persistent: false })
  await ch.waitForConfirms()
}

async function bodies(ch: ConfirmChannel, queue: string): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < 1000; i++) {
    const m = await ch.get(queue, { noAck: true })
    if (m === false) break
    out.push(m.content.toString())
  }
  return out
}

describe('quorum queue durability', () => {
  test('confirmed transient messages survive kill -9 and a clean restart; the queue stays quorum', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    let client = await confirmChannel(broker)
    await client.ch.assertQueue('qq', { durable: true, arguments: QQ })
    await client.ch.assertQueue('classic', { durable: true })
    await publishTransient(client.ch, 'qq', 'crash', 50)
    await publishTransient(client.ch, 'classic', 'crash', 50)
    await broker.crash()

    broker = await startBrokerProcess(dataDir)
    client = await confirmChannel(broker)
    expect((await client.ch.checkQueue('qq')).messageCount).toBe(50)
    expect((await client.ch.checkQueue('classic')).messageCount).toBe(0)
    // Still a quorum queue: its declaration must match, and the management API says so.
    await client.ch.assertQueue('qq', { durable: true, arguments: QQ })
    const answer = await fetch(`${broker.httpUrl}/api/queues/%2F/qq`, { headers: { Authorization: `Basic ${btoa('guest:guest')}` } })
    expect(((await answer.json()) as { type: string }).type).toBe('quorum')
    await publishTransient(client.ch, 'qq', 'clean', 10)
    await client.close()
    expect(await broker.stop()).toBe(0)

    broker = await startBrokerProcess(dataDir)
    client = await confirmChannel(broker)
    const expected = [...Array.from({ length: 50 }, (_, i) => `crash-${i}`), ...Array.from({ length: 10 }, (_, i) => `clean-${i}`)]
    expect(await bodies(client.ch, 'qq')).toEqual(expected)
    const { conn } = await amqplibConnect(broker.amqpUrl)
    const spare = await conn.createChannel()
    spare.on('error', () => {})
    await rejectsWithCode(spare.assertQueue('qq', { durable: true }), 406, "inequivalent arg 'x-queue-type'")
    await closeQuietly(conn)
    await client.close()
    expect(await broker.stop()).toBe(0)
  })
})
