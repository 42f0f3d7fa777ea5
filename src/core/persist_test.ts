import { describe, expect, test } from 'bun:test'
import { MemoryStore } from '../store/memory_store.ts'
import type { MessageStore, StoredMessage, StoreHooks } from '../store/store.ts'
import { client, msg, testBroker, tick } from './testing.ts'

/** A memory store that persists only when told, like a durable store waiting for fsync. */
class SlowStore extends MemoryStore {
  readonly unsynced: StoredMessage[] = []
  readonly #hooks: StoreHooks
  constructor(maxPriority: number, hooks: StoreHooks) {
    super(maxPriority)
    this.#hooks = hooks
  }
  override append(...args: Parameters<MessageStore['append']>): StoredMessage {
    const entry = super.append(...args)
    this.unsynced.push(entry)
    return entry
  }
  override isPersisted(entry: StoredMessage): boolean {
    return !this.unsynced.includes(entry)
  }
  sync(): void {
    for (const entry of this.unsynced.splice(0)) this.#hooks.persisted(entry)
  }
}

describe('publisher confirms with a store that persists later', () => {
  test('wait for every target queue to persist, then settle in order', async () => {
    const stores = new Map<string, SlowStore>()
    const broker = testBroker({
      storeFactory: {
        create: (queue, hooks) => {
          const store = new SlowStore(queue.maxPriority, hooks)
          stores.set(queue.name, store)
          return store
        },
      },
    })
    const { session: s, events } = client(broker)
    s.declareExchange('f', 'fanout')
    for (const q of ['a', 'b']) {
      s.declareQueue(q, { durable: true })
      s.bind({ source: 'f', destination: q, destinationKind: 'queue', routingKey: '' })
    }
    s.publish(msg('1', { exchange: 'f' }), { confirmId: 1 })
    s.publish(msg('2', { exchange: 'f' }), { confirmId: 2 })
    await tick()
    expect(events.settledBatches).toEqual([])
    stores.get('a')!.sync()
    await tick()
    expect(events.settledBatches).toEqual([])
    stores.get('b')!.sync()
    await tick()
    expect(events.settledBatches).toEqual([[1, 2]])
  })

  test('a queue deleted before persisting confirms its waiting publishes', async () => {
    const broker = testBroker({ storeFactory: { create: (queue, hooks) => new SlowStore(queue.maxPriority, hooks) } })
    const { session: s, events } = client(broker)
    s.declareQueue('q', { durable: true })
    s.publish(msg('1'), { confirmId: 7 })
    s.deleteQueue('q')
    await tick()
    expect(events.allSettled).toEqual([7])
  })
})
