/**
 * An in-memory KeyValueStore (api.ts) per namespace: adapters' small state such as MQTT
 * retained messages. Writes resolve at once; a durable implementation comes with the
 * definitions store.
 *
 * @module
 */
import type { KeyValueStore } from '../api.ts'

export class MemoryKeyValueStore implements KeyValueStore {
  #entries = new Map<string, Uint8Array>()

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key)
  }

  set(key: string, value: Uint8Array | null): Promise<void> {
    if (value === null) this.#entries.delete(key)
    else this.#entries.set(key, value)
    return Promise.resolve()
  }

  *entries(prefix?: string): Iterable<[string, Uint8Array]> {
    for (const entry of this.#entries) {
      if (prefix === undefined || entry[0].startsWith(prefix)) yield entry
    }
  }
}
