import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Message } from '../api.ts'
import { log } from '../log.ts'
import { ResidentBudget } from './disk_entry.ts'
import { GroupCommit } from './group_commit.ts'
import { SegmentStore, type SegmentStoreContext } from './segment_store.ts'
import { runStoreContract } from './store_contract.ts'
import type { StoredMessage } from './store.ts'

const root = mkdtempSync(join(tmpdir(), 'warren-segstore-'))
let dirs = 0
afterAll(() => rmSync(root, { recursive: true, force: true }))

function context(overrides: Partial<SegmentStoreContext> = {}): SegmentStoreContext {
  return { commit: new GroupCommit(), budget: new ResidentBudget(64 * 1024 * 1024), segmentBytes: 8 * 1024 * 1024, ...overrides }
}

runStoreContract('SegmentStore', (queue, hooks) =>
  new SegmentStore(join(root, `contract-${dirs++}`), queue.maxPriority, hooks, context({ persistAll: true })),
)

function persistent(text: string, extra: Partial<Message> = {}): Message {
  return { exchange: 'x', routingKey: 'k', properties: { deliveryMode: 2 }, body: new TextEncoder().encode(text), ...extra }
}

function body(entry: StoredMessage | undefined): string | undefined {
  return entry === undefined ? undefined : new TextDecoder().decode(entry.message.body)
}

/** A store on `dir` whose persisted hooks are recorded. */
function open(dir: string, ctx = context()) {
  const persisted: StoredMessage[] = []
  const store = new SegmentStore(dir, 0, { persisted: (e) => persisted.push(e) }, ctx)
  const add = (text: string, extra: Partial<Message> = {}) => {
    const msg = persistent(text, extra)
    return store.append(msg, { size: msg.body.byteLength, priority: 0, expiresAt: 0 })
  }
  return { store, persisted, add, ctx }
}

function drain(store: SegmentStore): StoredMessage[] {
  const out: StoredMessage[] = []
  for (let e = store.shift(); e !== undefined; e = store.shift()) out.push(e)
  return out
}

/** Captures log lines at warn and error while `fn` runs. */
async function captureLog(fn: () => void | Promise<void>): Promise<string[]> {
  const lines: string[] = []
  const { warn, error } = log
  log.warn = (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields)}`)
  log.error = (msg, fields) => lines.push(`error ${msg} ${JSON.stringify(fields)}`)
  try {
    await fn()
  } finally {
    log.warn = warn
    log.error = error
  }
  return lines
}

const newDir = () => join(root, `case-${dirs++}`)
const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort()

describe('SegmentStore on disk', () => {
  test('persistent messages are confirmed after the group fsync, transient ones at once', async () => {
    const dir = newDir()
    const { store, persisted, add, ctx } = open(dir)
    const a = add('a')
    const t = store.append({ ...persistent('t'), properties: { deliveryMode: 1 } }, { size: 1, priority: 0, expiresAt: 0 })
    expect(store.isPersisted(a)).toBe(false)
    expect(store.isPersisted(t)).toBe(true)
    await ctx.commit.drain()
    expect(persisted).toEqual([a])
    expect(store.isPersisted(a)).toBe(true)
  })

  test('recovery brings back unsettled persistent messages in order, with their properties', async () => {
    const dir = newDir()
    const first = open(dir)
    first.add('one')
    first.add('two', { annotations: { 'mqtt.qos': 1 } })
    first.add('three')
    first.store.append({ ...persistent('transient'), properties: {} }, { size: 9, priority: 0, expiresAt: 0 })
    const taken = first.store.shift()!
    first.store.settle(taken)
    await first.ctx.commit.drain()
    await first.store.flush()

    const second = open(dir)
    expect(second.store.readyCount).toBe(2)
    const [two, three] = drain(second.store)
    expect(body(two)).toBe('two')
    expect(two!.message.annotations).toEqual({ 'mqtt.qos': 1 })
    expect(body(three)).toBe('three')
  })

  test('properties and headers survive the round trip exactly', async () => {
    const dir = newDir()
    const first = open(dir)
    const headers = { 'x-n': 1, bin: new Uint8Array([1, 2]), big: 2n ** 70n, when: new Date(5000), list: ['a', 2, null] }
    const properties = { deliveryMode: 2, headers, contentType: 'text/plain', timestamp: 17, priority: 3, messageId: 'm-ü', expiration: '60000' }
    first.add('p', { properties, exchange: 'ex', routingKey: 'a.b.c' })
    await first.store.flush()
    const [entry] = drain(open(dir).store)
    expect(entry!.message.exchange).toBe('ex')
    expect(entry!.message.routingKey).toBe('a.b.c')
    expect(entry!.message.properties).toEqual(properties)
  })

  test('messages that had been delivered come back redelivered, the others not', async () => {
    const dir = newDir()
    const first = open(dir)
    for (let i = 0; i < 5; i++) first.add(`m${i}`)
    first.store.shift() // delivered, never settled: the broker "crashed"
    await first.ctx.commit.drain()
    const entries = drain(open(dir).store)
    expect(entries.map(body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    // The mark covers the delivered message (and, conservatively, the ones after it).
    expect(entries[0]!.deliveryCount).toBe(1)

    const fresh = newDir()
    const never = open(fresh)
    for (let i = 0; i < 3; i++) never.add(`n${i}`)
    await never.ctx.commit.drain()
    expect(drain(open(fresh).store).map((e) => e.deliveryCount)).toEqual([0, 0, 0])
  })

  test('fully settled segments are deleted, except the current one; a restart removes that too', async () => {
    const dir = newDir()
    const { store, add, ctx } = open(dir, context({ segmentBytes: 200 }))
    for (let i = 0; i < 20; i++) add(`message number ${i}`)
    await ctx.commit.drain()
    expect(segments(dir).length).toBeGreaterThan(3)
    const taken = drain(store)
    for (const e of taken.slice(0, 10)) store.settle(e)
    await ctx.commit.drain()
    const left = segments(dir).length
    expect(left).toBeGreaterThan(0)
    for (const e of taken.slice(10)) store.settle(e)
    await ctx.commit.drain()
    // The current segment stays for the next appends (a queue that drains every turn must not
    // create and delete a file each time); its records are all acked.
    expect(segments(dir).length).toBe(1)
    const again = open(dir, context({ segmentBytes: 200 }))
    expect(again.store.readyCount).toBe(0)
    expect(segments(dir)).toEqual([])
  })

  test('acks survive a restart: settled messages never come back', async () => {
    const dir = newDir()
    const { store, add, ctx } = open(dir, context({ segmentBytes: 200 }))
    for (let i = 0; i < 30; i++) add(`m${i}`)
    const taken = drain(store)
    for (const e of taken) if (Number(body(e)!.slice(1)) % 3 !== 0) store.settle(e)
    await ctx.commit.drain()
    const back = drain(open(dir, context({ segmentBytes: 200 })).store).map(body)
    expect(back).toEqual(['m0', 'm3', 'm6', 'm9', 'm12', 'm15', 'm18', 'm21', 'm24', 'm27'])
  })

  test('a torn tail is dropped with one warning and the file is cut back', async () => {
    const dir = newDir()
    const { add, ctx } = open(dir)
    for (let i = 0; i < 5; i++) add(`message ${i}`)
    await ctx.commit.drain()
    const file = join(dir, segments(dir)[0]!)
    const size = readFileSync(file).byteLength
    truncateSync(file, size - 3)
    let back: (string | undefined)[] = []
    const lines = await captureLog(() => {
      back = drain(open(dir).store).map(body)
    })
    expect(back).toEqual(['message 0', 'message 1', 'message 2', 'message 3'])
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain('torn')
    expect(lines[0]).toContain(file)
    // Cut back: the next start is silent.
    expect(await captureLog(() => void open(dir))).toEqual([])
  })

  test('a torn ack file loses only its last acks (those messages come back), and later acks append cleanly', async () => {
    const dir = newDir()
    const first = open(dir)
    for (let i = 0; i < 6; i++) first.add(`m${i}`)
    const taken = drain(first.store)
    first.store.settle(taken[0]!)
    await first.ctx.commit.drain()
    first.store.settle(taken[1]!)
    await first.ctx.commit.drain()
    const ackFile = join(dir, readdirSync(dir).find((n) => n.endsWith('.ack'))!)
    truncateSync(ackFile, readFileSync(ackFile).byteLength - 2)

    let second: ReturnType<typeof open> | undefined
    const lines = await captureLog(() => {
      second = open(dir)
    })
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain(ackFile)
    const back = drain(second!.store)
    expect(back.map(body)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'])
    for (const e of back.slice(0, 2)) second!.store.settle(e)
    await second!.ctx.commit.drain()
    let third: ReturnType<typeof open> | undefined
    expect(await captureLog(() => void (third = open(dir)))).toEqual([])
    expect(drain(third!.store).map(body)).toEqual(['m3', 'm4', 'm5'])
  })

  test('a corrupt record in the middle is reported naming the file; the rest recovers', async () => {
    const dir = newDir()
    const { add, ctx } = open(dir)
    for (let i = 0; i < 5; i++) add(`message ${i}`)
    await ctx.commit.drain()
    const file = join(dir, segments(dir)[0]!)
    const bytes = readFileSync(file)
    const at = bytes.indexOf('message 2')
    bytes[at + 3] ^= 0xff
    writeFileSync(file, bytes)
    let back: (string | undefined)[] = []
    const lines = await captureLog(() => {
      back = drain(open(dir).store).map(body)
    })
    expect(back).toEqual(['message 0', 'message 1', 'message 3', 'message 4'])
    expect(lines.length).toBe(1)
    expect(lines[0]).toStartWith('error')
    expect(lines[0]).toContain(file)
  })

  test('a garbage segment file is reported and set aside; other segments recover', async () => {
    const dir = newDir()
    const { add, ctx } = open(dir, context({ segmentBytes: 100 }))
    for (let i = 0; i < 6; i++) add(`message ${i}`)
    await ctx.commit.drain()
    const names = segments(dir)
    expect(names.length).toBeGreaterThan(2)
    const victim = join(dir, names[1]!)
    writeFileSync(victim, new Uint8Array(300).map((_, i) => (i * 37 + 11) & 0xff))
    let back: (string | undefined)[] = []
    const lines = await captureLog(() => {
      back = drain(open(dir).store).map(body)
    })
    expect(back).toEqual(['message 0', 'message 2', 'message 3', 'message 4', 'message 5'])
    expect(lines.length).toBe(1)
    expect(lines[0]).toStartWith('error')
    expect(lines[0]).toContain(victim)
    expect(readdirSync(dir)).toContain(`${names[1]}.corrupt`)
  })

  test('past the memory budget, bodies are read back from disk in order', async () => {
    const dir = newDir()
    const budget = new ResidentBudget(1000)
    const { store, add, ctx } = open(dir, context({ budget, segmentBytes: 4096 }))
    const texts = Array.from({ length: 200 }, (_, i) => `body-${i}-${'x'.repeat(i % 50)}`)
    for (const t of texts) add(t)
    await ctx.commit.drain()
    expect(budget.used).toBeLessThanOrEqual(1000)
    const out: string[] = []
    for (let e = store.shift(); e !== undefined; e = store.shift()) {
      out.push(body(e)!)
      store.settle(e)
    }
    expect(out).toEqual(texts)
    expect(budget.used).toBe(0)

    // And after a restart with a small budget: recovery keeps only what fits in memory.
    const dir2 = newDir()
    const before = open(dir2, context({ segmentBytes: 4096 }))
    for (const t of texts) before.add(t)
    await before.store.flush()
    const small = new ResidentBudget(500)
    const after = open(dir2, context({ budget: small, segmentBytes: 4096 }))
    expect(small.used).toBeLessThanOrEqual(500)
    const again: string[] = []
    for (let e = after.store.shift(); e !== undefined; e = after.store.shift()) {
      again.push(body(e)!)
      after.store.settle(e)
    }
    expect(again).toEqual(texts)
  })

  test('the paged hook keeps the held-bytes count equal to the bodies in memory', async () => {
    const dir = newDir()
    let held = 0
    const budget = new ResidentBudget(2000)
    const ctx = context({ budget, segmentBytes: 4096 })
    const store = new SegmentStore(dir, 0, { persisted: () => {}, paged: (bytes) => (held += bytes) }, ctx)
    const add = (i: number) => {
      const msg = persistent(`message-${i}-${'y'.repeat(40)}`)
      held += msg.body.byteLength // what the queue adds on enqueue
      return store.append(msg, { size: msg.body.byteLength, priority: 0, expiresAt: 0 })
    }
    for (let i = 0; i < 100; i++) add(i)
    await ctx.commit.drain()
    expect(held).toBeLessThanOrEqual(2100)
    for (let i = 0; i < 30; i++) {
      const e = store.shift()!
      store.settle(e)
      held -= e.size // what the queue removes on ack
    }
    expect(held).toBeLessThanOrEqual(2100)
    held -= store.readyBytes // what the queue removes on purge
    store.purge()
    expect(held).toBe(0)
    await ctx.commit.drain()

    // Recovery reports the bodies it left on disk.
    const dir2 = newDir()
    const before = open(dir2)
    for (let i = 0; i < 100; i++) before.add(`recovered-${i}-${'z'.repeat(40)}`)
    await before.store.flush()
    let recoveredHeld = 0
    const after = new SegmentStore(dir2, 0, { persisted: () => {}, paged: (b) => (recoveredHeld += b) }, context({ budget: new ResidentBudget(1000) }))
    recoveredHeld += after.readyBytes // what the queue adds for recovered messages
    expect(recoveredHeld).toBeLessThanOrEqual(1100)
    expect(recoveredHeld).toBeGreaterThan(0)
  })

  test('close deletes the queue directory', async () => {
    const dir = newDir()
    const { store, add, ctx } = open(dir)
    add('a')
    await ctx.commit.drain()
    store.close()
    expect(() => readdirSync(dir)).toThrow()
  })
})
