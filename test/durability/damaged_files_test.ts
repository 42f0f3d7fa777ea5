// Damaged data files on a real data directory: a torn tail is dropped with one warning, damage
// in the middle is an error naming the file, and everything else still recovers.
import { afterAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Channel, ConfirmChannel } from 'amqplib'
import { amqplibConnect, watch } from '../helpers/amqp.ts'
import { cleanup, problemLines, startBrokerProcess, tempDataDir, type BrokerProcess } from './broker_process.ts'

afterAll(cleanup)

async function confirmChannel(broker: BrokerProcess): Promise<ConfirmChannel> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  const ch = await conn.createConfirmChannel()
  watch(ch)
  return ch
}

/** Declares durable `queues` and publishes `count` confirmed persistent messages "<queue>-<i>" to each. */
async function fill(broker: BrokerProcess, queues: string[], count: number): Promise<void> {
  const ch = await confirmChannel(broker)
  for (const q of queues) {
    await ch.assertQueue(q, { durable: true })
    for (let i = 0; i < count; i++) ch.publish('', q, Buffer.from(`${q}-${i}`), { persistent: true })
  }
  await ch.waitForConfirms()
}

async function bodies(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < 1000; i++) {
    const m = await ch.get(queue, { noAck: true })
    if (m === false) break
    out.push(m.content.toString())
  }
  return out
}

async function reader(broker: BrokerProcess): Promise<Channel> {
  const { conn } = await amqplibConnect(broker.amqpUrl)
  return conn.createChannel()
}

/** The segment files of the queue whose messages contain `marker`. */
function segmentsOf(dataDir: string, marker: string): string[] {
  const root = join(dataDir, 'queues')
  for (const dir of readdirSync(root)) {
    const files = readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.seg'))
      .sort()
      .map((f) => join(root, dir, f))
    if (files.some((f) => readFileSync(f).includes(marker))) return files
  }
  throw new Error(`no segment holds ${marker}`)
}

const range = (q: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${q}-${from + i}`)

describe('damaged data files', () => {
  test('a torn tail (the last segment cut mid-record) is dropped with one warning naming the file', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await fill(broker, ['q'], 20)
    await broker.crash()
    const last = segmentsOf(dataDir, 'q-19').at(-1)!
    truncateSync(last, readFileSync(last).byteLength - 4)

    broker = await startBrokerProcess(dataDir)
    expect(await bodies(await reader(broker), 'q')).toEqual(range('q', 0, 19))
    const lines = problemLines(broker.stderr())
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain('torn')
    expect(lines[0]).toContain(last)
    await broker.stop()
    // The tail was cut off: the next start has nothing to say.
    broker = await startBrokerProcess(dataDir)
    expect(problemLines(broker.stderr())).toEqual([])
    await broker.stop()
  }, 60_000)

  test('bytes flipped in the middle of a segment: an error names the file, every other message recovers', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await fill(broker, ['victim', 'bystander'], 20)
    await broker.crash()
    const file = segmentsOf(dataDir, 'victim-10')[0]!
    const bytes = readFileSync(file)
    const at = bytes.indexOf('victim-10')
    for (let i = 0; i < 4; i++) bytes[at + i] ^= 0x5a
    writeFileSync(file, bytes)

    broker = await startBrokerProcess(dataDir)
    const ch = await reader(broker)
    expect(await bodies(ch, 'victim')).toEqual([...range('victim', 0, 10), ...range('victim', 11, 20)])
    expect(await bodies(ch, 'bystander')).toEqual(range('bystander', 0, 20))
    const lines = problemLines(broker.stderr())
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain(' error ')
    expect(lines[0]).toContain(file)
    await broker.stop()
  }, 60_000)

  test('a garbage segment file and a damaged definitions record: errors name them, the rest recovers', async () => {
    const dataDir = tempDataDir()
    let broker = await startBrokerProcess(dataDir)
    await fill(broker, ['aaa', 'bbb'], 5)
    const ch = await confirmChannel(broker)
    await ch.assertQueue('lost-definition', { durable: true })
    await ch.assertQueue('after', { durable: true })
    ch.publish('', 'after', Buffer.from('after-0'), { persistent: true })
    await ch.waitForConfirms()
    expect(await broker.stop()).toBe(0)

    const garbage = segmentsOf(dataDir, 'aaa-0')[0]!
    writeFileSync(garbage, Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 131 + 7) & 0xff)))
    const definitions = join(dataDir, 'definitions.log')
    const defs = readFileSync(definitions)
    const at = defs.indexOf('lost-definition')
    defs[at] ^= 0xff
    writeFileSync(definitions, defs)

    broker = await startBrokerProcess(dataDir)
    const r = await reader(broker)
    expect(await bodies(r, 'aaa')).toEqual([])
    expect(await bodies(r, 'bbb')).toEqual(range('bbb', 0, 5))
    expect(await bodies(r, 'after')).toEqual(['after-0'])
    const lines = problemLines(broker.stderr())
    expect(lines.some((l) => l.includes(' error ') && l.includes(garbage))).toBe(true)
    expect(lines.some((l) => l.includes(' error ') && l.includes(definitions))).toBe(true)
    expect(lines.length).toBe(2)
    const probe = await reader(broker)
    watch(probe)
    await expect(probe.checkQueue('lost-definition')).rejects.toThrow(/NOT_FOUND/)
    await broker.stop()
  }, 60_000)
})
