/**
 * The behaviour every MessageStore implementation must show. A store's test file calls
 * `runStoreContract(make)`; `make` builds a fresh, empty store for the queue described.
 *
 * @module
 */
import { describe, expect, test } from 'bun:test'
import type { Message } from '../api.ts'
import type { MessageStore, StoredMessage, StoreHooks, StoreQueueInfo } from './store.ts'

export type MakeStore = (queue: StoreQueueInfo, hooks: StoreHooks) => MessageStore

function message(text: string): Message {
  return { exchange: '', routingKey: 'q', properties: {}, body: new TextEncoder().encode(text) }
}

function text(entry: StoredMessage | undefined): string | undefined {
  return entry === undefined ? undefined : new TextDecoder().decode(entry.message.body)
}

function open(make: MakeStore, maxPriority = 0): { store: MessageStore; persisted: StoredMessage[] } {
  const persisted: StoredMessage[] = []
  const store = make({ vhost: '/', name: 'contract', durable: false, maxPriority }, { persisted: (e) => persisted.push(e) })
  return { store, persisted }
}

function add(store: MessageStore, body: string, priority = 0, expiresAt = 0): StoredMessage {
  const msg = message(body)
  return store.append(msg, { size: msg.body.byteLength, priority, expiresAt })
}

function drainAll(store: MessageStore): string[] {
  const out: string[] = []
  for (let e = store.shift(); e !== undefined; e = store.shift()) {
    out.push(text(e)!)
    store.settle(e)
  }
  return out
}

export function runStoreContract(name: string, make: MakeStore): void {
  describe(`${name} (MessageStore contract)`, () => {
    test('append then shift returns messages in FIFO order and keeps the body object', () => {
      const { store } = open(make)
      const entries = ['a', 'b', 'c'].map((b) => add(store, b))
      expect(store.peek()).toBe(entries[0]!)
      const first = store.shift()!
      expect(first.message).toBe(entries[0]!.message)
      expect(first.message.body).toBe(entries[0]!.message.body)
      expect(drainAll(store)).toEqual(['b', 'c'])
      expect(store.shift()).toBeUndefined()
    })

    test('sequence numbers strictly increase', () => {
      const { store } = open(make)
      const seqs = ['a', 'b', 'c'].map((b) => add(store, b).seq)
      expect(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!).toBe(true)
    })

    test('counts and bytes follow ready and outstanding messages', () => {
      const { store } = open(make)
      add(store, 'aaaa')
      add(store, 'bb')
      expect([store.readyCount, store.readyBytes, store.outstandingCount, store.outstandingBytes]).toEqual([2, 6, 0, 0])
      const e = store.shift()!
      expect([store.readyCount, store.readyBytes, store.outstandingCount, store.outstandingBytes]).toEqual([1, 2, 1, 4])
      store.settle(e)
      expect([store.readyCount, store.readyBytes, store.outstandingCount, store.outstandingBytes]).toEqual([1, 2, 0, 0])
    })

    test('requeue restores the original order by sequence', () => {
      const { store } = open(make)
      for (const b of ['a', 'b', 'c', 'd', 'e']) add(store, b)
      const taken = [store.shift()!, store.shift()!, store.shift()!, store.shift()!]
      // Return b and d out of order, then a: they must come back as a, b, d before e.
      store.requeue(taken[3]!)
      store.requeue(taken[1]!)
      store.settle(taken[2]!)
      store.requeue(taken[0]!)
      expect(store.readyCount).toBe(4)
      expect(drainAll(store)).toEqual(['a', 'b', 'd', 'e'])
    })

    test('requeue into the middle of a long backlog keeps sequence order', () => {
      const { store } = open(make)
      for (let i = 0; i < 100; i++) add(store, String(i))
      const taken: StoredMessage[] = []
      for (let i = 0; i < 50; i++) taken.push(store.shift()!)
      for (let i = 50; i < 60; i++) add(store, `late${i}`)
      store.requeue(taken[10]!)
      store.requeue(taken[40]!)
      const order = drainAll(store)
      expect(order.slice(0, 3)).toEqual(['10', '40', '50'])
      expect(order.length).toBe(62)
    })

    test('the ring buffer survives wrap-around and growth', () => {
      const { store } = open(make)
      let expected = 0
      let next = 0
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 37; i++) add(store, String(next++))
        for (let i = 0; i < 30; i++) {
          const e = store.shift()!
          expect(text(e)).toBe(String(expected++))
          store.settle(e)
        }
      }
      expect(store.readyCount).toBe(next - expected)
    })

    test('priorities: higher first, FIFO within a priority', () => {
      const { store } = open(make, 5)
      add(store, 'low1', 1)
      add(store, 'high1', 5)
      add(store, 'none', 0)
      add(store, 'high2', 5)
      add(store, 'low2', 1)
      expect(drainAll(store)).toEqual(['high1', 'high2', 'low1', 'low2', 'none'])
    })

    test('a requeued priority message returns ahead of its priority level', () => {
      const { store } = open(make, 3)
      add(store, 'p3a', 3)
      add(store, 'p0', 0)
      add(store, 'p3b', 3)
      const first = store.shift()!
      store.requeue(first)
      expect(drainAll(store)).toEqual(['p3a', 'p3b', 'p0'])
    })

    test('purge drops ready messages only', () => {
      const { store } = open(make)
      for (const b of ['a', 'b', 'c']) add(store, b)
      const out = store.shift()!
      expect(store.purge()).toBe(2)
      expect([store.readyCount, store.readyBytes, store.outstandingCount]).toEqual([0, 0, 1])
      store.requeue(out)
      expect(drainAll(store)).toEqual(['a'])
    })

    test('expiresAt and deliveryCount are kept on the entry', () => {
      const { store } = open(make)
      add(store, 'x', 0, 12345)
      const e = store.shift()!
      expect(e.expiresAt).toBe(12345)
      expect(e.deliveryCount).toBe(0)
      e.deliveryCount++
      store.requeue(e)
      expect(store.peek()!.deliveryCount).toBe(1)
    })

    test('every appended message is persisted, at once or through the hook', async () => {
      const { store, persisted } = open(make)
      const entries = ['a', 'b'].map((b) => add(store, b))
      const deadline = Date.now() + 2000
      while (!entries.every((e) => store.isPersisted(e) || persisted.includes(e)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      expect(entries.every((e) => store.isPersisted(e) || persisted.includes(e))).toBe(true)
    })

    test('close forgets everything and later calls are harmless', () => {
      const { store } = open(make)
      add(store, 'a')
      const e = store.shift()!
      add(store, 'b')
      store.close()
      expect(store.readyCount).toBe(0)
      expect(store.outstandingCount).toBe(0)
      store.settle(e)
      store.requeue(e)
      expect(store.outstandingCount).toBe(0)
      expect(store.shift()).toBeUndefined()
    })
  })
}
