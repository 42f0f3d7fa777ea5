// A bounded soak: publish with confirms and consume with acks while the broker is killed with
// -9 at random moments and restarted on the same data directory. At the end every confirmed
// message has been consumed, nothing was invented, and any duplicate came flagged redelivered.
// WARREN_SOAK_SECONDS sets the length (default 20).
import { afterAll, describe, expect, test } from 'bun:test'
import type { Channel, ConfirmChannel } from 'amqplib'
import { amqplibConnect, watch } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'
import { cleanup, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

const SECONDS = Number(process.env.WARREN_SOAK_SECONDS ?? 20)
const QUEUE = 'soak'
const BATCH = 50

interface Tally {
  published: number
  confirmed: Set<number>
  /** Every delivery: the message number and its redelivered flag, in arrival order. */
  deliveries: { n: number; redelivered: boolean }[]
}

async function openClients(broker: BrokerProcess): Promise<{ pub: ConfirmChannel; sub: Channel; closed: Promise<unknown> }> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  const closed = new Promise((resolve) => conn.once('close', resolve))
  const pub = await conn.createConfirmChannel()
  watch(pub)
  const sub = await conn.createChannel()
  watch(sub)
  await pub.assertQueue(QUEUE, { durable: true })
  await sub.prefetch(100)
  return { pub, sub, closed }
}

function consumeInto(sub: Channel, tally: Tally): Promise<unknown> {
  return sub.consume(QUEUE, (m) => {
    if (m === null) return
    tally.deliveries.push({ n: Number(m.content.toString().slice(2)), redelivered: m.fields.redelivered })
    try {
      sub.ack(m)
    } catch {
      // The broker just died; the message comes back redelivered.
    }
  })
}

/** Publishes batches with confirms until `stop` settles or the connection dies. */
async function publishUntil(pub: ConfirmChannel, tally: Tally, stop: Promise<unknown>): Promise<void> {
  let stopped = false
  void stop.then(() => (stopped = true))
  // Bounded: each batch either confirms or fails once the broker is gone.
  while (!stopped) {
    for (let i = 0; i < BATCH; i++) {
      const n = tally.published++
      try {
        pub.publish('', QUEUE, Buffer.from(`p-${n}`), { persistent: true }, (err) => {
          if (err == null) tally.confirmed.add(n)
        })
      } catch {
        return
      }
    }
    const outcome = await Promise.race([pub.waitForConfirms().then(() => 'ok', () => 'failed'), stop.then(() => 'stopped')])
    if (outcome !== 'ok') return
  }
}

describe('soak', () => {
  test(`${SECONDS} s of publishing and consuming across random kill -9 and restarts loses nothing confirmed`, async () => {
    const dataDir = tempDataDir()
    const tally: Tally = { published: 0, confirmed: new Set(), deliveries: [] }
    const deadline = Date.now() + SECONDS * 1000
    let crashes = 0
    // Bounded by the deadline: every round ends with a kill.
    while (Date.now() < deadline) {
      const broker = await startBrokerProcess(dataDir)
      const { pub, sub, closed } = await openClients(broker)
      await consumeInto(sub, tally)
      const lifetime = 300 + Math.floor(Math.random() * 1700)
      const killed = new Promise<void>((resolve) => setTimeout(resolve, lifetime)).then(() => broker.crash())
      await publishUntil(pub, tally, killed)
      await killed
      await closed
      crashes++
    }

    const broker = await startBrokerProcess(dataDir)
    const { sub } = await openClients(broker)
    await consumeInto(sub, tally)
    const allConsumed = (): boolean => {
      const consumed = new Set(tally.deliveries.map((d) => d.n))
      for (const n of tally.confirmed) if (!consumed.has(n)) return false
      return true
    }
    await waitFor(allConsumed, {
      timeout: 15_000,
      message: 'every confirmed message consumed after the last restart',
    })
    await waitFor(async () => (await sub.checkQueue(QUEUE)).messageCount === 0, { timeout: 5000, message: 'queue drained' })
    expect(await broker.stop()).toBe(0)

    expect(crashes).toBeGreaterThan(2)
    expect(tally.confirmed.size).toBeGreaterThan(500)
    // Nothing invented: every delivery is a message that was published.
    expect(tally.deliveries.every((d) => Number.isInteger(d.n) && d.n >= 0 && d.n < tally.published)).toBe(true)
    // Duplicates only as redeliveries.
    const seen = new Set<number>()
    const unflagged: number[] = []
    for (const d of tally.deliveries) {
      if (seen.has(d.n) && !d.redelivered) unflagged.push(d.n)
      seen.add(d.n)
    }
    expect(unflagged).toEqual([])
  }, (SECONDS + 60) * 1000)
})
