/**
 * Exchange types: how an exchange turns a routing key (and headers) into destinations.
 *
 * Routers are protocol-neutral and generic over the destination `D` (the vhost passes queue and
 * exchange objects). They own the binding set of one exchange, so binding identity lives here:
 * destination, routing key and deep-equal arguments, as in RabbitMQ.
 *
 * The built-in types register themselves below; `registerExchangeType` is the plugin surface.
 *
 * @module
 */
import type { Table } from '../api.ts'
import { direct } from './exchanges/direct.ts'
import { fanout } from './exchanges/fanout.ts'
import { headers } from './exchanges/headers.ts'
import { topic } from './exchanges/topic.ts'

/** One exchange's bindings and its routing rule. */
export interface ExchangeRouter<D> {
  /** Adds a binding; false if an identical one (same destination, routing key, args deep-equal) exists. */
  bind(destination: D, routingKey: string, args: Table | undefined): boolean
  /** Removes the identical binding; false if there was none. */
  unbind(destination: D, routingKey: string, args: Table | undefined): boolean
  /**
   * Appends every matching destination to `out` (no duplicates from this router). Called on the
   * publish path; must not allocate per binding.
   */
  route(routingKey: string, headers: Table | undefined, out: D[]): void
  /** Removes every binding to `destination` (queue/exchange deleted); returns how many. */
  removeDestination(destination: D): number
  /** Any binding at all, or any binding to `destination`. */
  hasBindings(destination?: D): boolean
  /** Number of bindings. */
  readonly size: number
  /** For listing/management: every binding. */
  bindings(): Iterable<{ destination: D; routingKey: string; args: Table | undefined }>
}

export interface ExchangeType {
  readonly name: 'direct' | 'fanout' | 'topic' | 'headers' | string
  create<D>(): ExchangeRouter<D>
  /** Throws BrokerError('precondition-failed', RabbitMQ text) for bad binding args (e.g. headers x-match value). */
  validateBindingArgs?(args: Table | undefined): void
}

const registry = new Map<string, ExchangeType>()

/** The exchange type called `name`, or undefined (the caller reports RabbitMQ's error). */
export function getExchangeType(name: string): ExchangeType | undefined {
  return registry.get(name)
}

/** Adds an exchange type. Registering a name twice is a programming error. */
export function registerExchangeType(type: ExchangeType): void {
  if (registry.has(type.name)) throw new TypeError(`Cannot register exchange type "${type.name}": already registered`)
  registry.set(type.name, type)
}

/** Names of every registered type, for listing. */
export function exchangeTypeNames(): string[] {
  return [...registry.keys()]
}

registerExchangeType(direct)
registerExchangeType(fanout)
registerExchangeType(topic)
registerExchangeType(headers)
