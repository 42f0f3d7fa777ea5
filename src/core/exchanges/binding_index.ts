/**
 * The binding set shared by the direct, fanout and topic routers: bindings grouped by routing
 * key, then destination, with a reverse index by destination so deleting a queue does not scan
 * every binding.
 *
 * @module
 */
import type { Table } from '../../api.ts'
import { argsEqual } from './field_values.ts'

/** What an add or remove did to the (routing key, destination) pair. */
export type PairChange = 'pair' | 'args'

export class BindingIndex<D> {
  /** routing key → destination → the argument tables of its bindings (usually one). */
  #byKey = new Map<string, Map<D, (Table | undefined)[]>>()
  /** destination → routing keys it is bound with. */
  #byDestination = new Map<D, Set<string>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  /**
   * Adds a binding. Returns 'pair' when the (key, destination) pair is new, 'args' when the pair
   * already existed with other arguments, false when the identical binding exists.
   */
  add(destination: D, key: string, args: Table | undefined): PairChange | false {
    let byDest = this.#byKey.get(key)
    if (byDest === undefined) {
      byDest = new Map()
      this.#byKey.set(key, byDest)
    }
    const list = byDest.get(destination)
    if (list !== undefined) {
      for (const existing of list) if (argsEqual(existing, args)) return false
      list.push(args)
      this.#size++
      return 'args'
    }
    byDest.set(destination, [args])
    let keys = this.#byDestination.get(destination)
    if (keys === undefined) {
      keys = new Set()
      this.#byDestination.set(destination, keys)
    }
    keys.add(key)
    this.#size++
    return 'pair'
  }

  /** Removes a binding. 'pair' when it was the pair's last binding, false when it did not exist. */
  remove(destination: D, key: string, args: Table | undefined): PairChange | false {
    const byDest = this.#byKey.get(key)
    const list = byDest?.get(destination)
    if (byDest === undefined || list === undefined) return false
    const index = list.findIndex((existing) => argsEqual(existing, args))
    if (index < 0) return false
    list.splice(index, 1)
    this.#size--
    if (list.length > 0) return 'args'
    this.#dropPair(byDest, destination, key)
    return 'pair'
  }

  /** Removes every binding to `destination`, calling `onPairGone` for each routing key. */
  removeDestination(destination: D, onPairGone?: (key: string) => void): number {
    const keys = this.#byDestination.get(destination)
    if (keys === undefined) return 0
    let removed = 0
    for (const key of [...keys]) {
      const byDest = this.#byKey.get(key)!
      removed += byDest.get(destination)!.length
      this.#dropPair(byDest, destination, key)
      onPairGone?.(key)
    }
    this.#size -= removed
    return removed
  }

  #dropPair(byDest: Map<D, (Table | undefined)[]>, destination: D, key: string): void {
    byDest.delete(destination)
    if (byDest.size === 0) this.#byKey.delete(key)
    const keys = this.#byDestination.get(destination)!
    keys.delete(key)
    if (keys.size === 0) this.#byDestination.delete(destination)
  }

  /** Destinations bound with exactly `key` (the map's keys), or undefined. */
  withKey(key: string): ReadonlyMap<D, unknown> | undefined {
    return this.#byKey.get(key)
  }

  /** Every destination with at least one binding, each once. */
  destinations(): IterableIterator<D> {
    return this.#byDestination.keys()
  }

  has(destination?: D): boolean {
    return destination === undefined ? this.#size > 0 : this.#byDestination.has(destination)
  }

  *entries(): Generator<{ destination: D; routingKey: string; args: Table | undefined }> {
    for (const [routingKey, byDest] of this.#byKey) {
      for (const [destination, list] of byDest) {
        for (const args of list) yield { destination, routingKey, args }
      }
    }
  }
}
