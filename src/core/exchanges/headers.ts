/**
 * The headers exchange, as rabbit_exchange_type_headers.erl: a binding's arguments are matched
 * against the message headers. `x-match` picks the rule:
 *
 * - `all` (default): every considered binding argument must match; no arguments match everything.
 * - `any`: at least one must match; no arguments match nothing.
 * - `all-with-x` / `any-with-x`: the same, but arguments starting with "x-" are considered too
 *   (otherwise they are ignored). `x-match` itself is never considered.
 *
 * An argument whose value is void (null/undefined) matches on the header's presence alone;
 * otherwise values compare with {@link valuesMatch}. Routing scans every binding, as RabbitMQ
 * does.
 *
 * @module
 */
import { BrokerError, type FieldValue, type Table } from '../../api.ts'
import type { ExchangeRouter, ExchangeType } from '../exchange_type.ts'
import { argsEqual, fieldTypeName, formatErlang, valuesMatch } from './field_values.ts'

const X_MATCH_VALUES = new Set(['all', 'any', 'all-with-x', 'any-with-x'])

/** A binding with its arguments compiled for matching. */
interface HeadersBinding {
  readonly routingKey: string
  readonly args: Table | undefined
  readonly any: boolean
  readonly keys: string[]
  readonly values: FieldValue[]
}

interface DestinationEntry<D> {
  readonly destination: D
  readonly bindings: HeadersBinding[]
}

function compile(routingKey: string, args: Table | undefined): HeadersBinding {
  const xMatch = args?.['x-match']
  // Anything unrecognised means 'all': RabbitMQ's legacy rule for bindings made before validation.
  const any = xMatch === 'any' || xMatch === 'any-with-x'
  const withX = xMatch === 'all-with-x' || xMatch === 'any-with-x'
  const keys: string[] = []
  const values: FieldValue[] = []
  if (args !== undefined) {
    for (const key in args) {
      if (!Object.hasOwn(args, key) || key === 'x-match') continue
      if (!withX && key.startsWith('x-')) continue
      keys.push(key)
      values.push(args[key])
    }
  }
  return { routingKey, args, any, keys, values }
}

function matches(binding: HeadersBinding, headers: Table | undefined): boolean {
  const { keys, values } = binding
  if (binding.any) {
    if (headers === undefined) return false
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      if (!Object.hasOwn(headers, key)) continue
      const expected = values[i]
      if (expected == null || valuesMatch(expected, headers[key])) return true
    }
    return false
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    if (headers === undefined || !Object.hasOwn(headers, key)) return false
    const expected = values[i]
    if (expected != null && !valuesMatch(expected, headers[key])) return false
  }
  return true
}

class HeadersRouter<D> implements ExchangeRouter<D> {
  // An array for allocation-free scans on the publish path, plus a map to find a destination.
  #entries: DestinationEntry<D>[] = []
  #byDestination = new Map<D, DestinationEntry<D>>()
  #size = 0

  get size(): number {
    return this.#size
  }

  bind(destination: D, routingKey: string, args: Table | undefined): boolean {
    let entry = this.#byDestination.get(destination)
    if (entry === undefined) {
      entry = { destination, bindings: [] }
      this.#entries.push(entry)
      this.#byDestination.set(destination, entry)
    } else if (entry.bindings.some((b) => b.routingKey === routingKey && argsEqual(b.args, args))) {
      return false
    }
    entry.bindings.push(compile(routingKey, args))
    this.#size++
    return true
  }

  unbind(destination: D, routingKey: string, args: Table | undefined): boolean {
    const entry = this.#byDestination.get(destination)
    if (entry === undefined) return false
    const index = entry.bindings.findIndex((b) => b.routingKey === routingKey && argsEqual(b.args, args))
    if (index < 0) return false
    entry.bindings.splice(index, 1)
    this.#size--
    if (entry.bindings.length === 0) this.#drop(entry)
    return true
  }

  route(_routingKey: string, headers: Table | undefined, out: D[]): void {
    const entries = this.#entries
    for (let i = 0; i < entries.length; i++) {
      const { destination, bindings } = entries[i]!
      for (let j = 0; j < bindings.length; j++) {
        if (matches(bindings[j]!, headers)) {
          out.push(destination)
          break
        }
      }
    }
  }

  removeDestination(destination: D): number {
    const entry = this.#byDestination.get(destination)
    if (entry === undefined) return 0
    this.#drop(entry)
    this.#size -= entry.bindings.length
    return entry.bindings.length
  }

  #drop(entry: DestinationEntry<D>): void {
    this.#byDestination.delete(entry.destination)
    this.#entries.splice(this.#entries.indexOf(entry), 1)
  }

  hasBindings(destination?: D): boolean {
    return destination === undefined ? this.#size > 0 : this.#byDestination.has(destination)
  }

  *bindings(): Generator<{ destination: D; routingKey: string; args: Table | undefined }> {
    for (const { destination, bindings } of this.#entries) {
      for (const { routingKey, args } of bindings) yield { destination, routingKey, args }
    }
  }
}

export const headers: ExchangeType = {
  name: 'headers',
  create: <D>() => new HeadersRouter<D>(),
  validateBindingArgs(args: Table | undefined): void {
    if (args === undefined || !Object.hasOwn(args, 'x-match')) return // optional, as in RabbitMQ
    const value = args['x-match']
    if (typeof value === 'string') {
      if (X_MATCH_VALUES.has(value)) return
      throw new BrokerError(
        'precondition-failed',
        `Invalid x-match field value ${formatErlang(value)}; expected all, any, all-with-x, or any-with-x`,
      )
    }
    throw new BrokerError(
      'precondition-failed',
      `Invalid x-match field type ${fieldTypeName(value)} (value ${formatErlang(value)}); expected longstr`,
    )
  },
}
