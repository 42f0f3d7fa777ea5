/**
 * The fanout exchange: every bound destination gets every message; routing keys only count for
 * binding identity.
 *
 * @module
 */
import type { Table } from '../../api.ts'
import type { ExchangeRouter, ExchangeType } from '../exchange_type.ts'
import { BindingIndex } from './binding_index.ts'

class FanoutRouter<D> implements ExchangeRouter<D> {
  #index = new BindingIndex<D>()

  get size(): number {
    return this.#index.size
  }

  bind(destination: D, routingKey: string, args: Table | undefined): boolean {
    return this.#index.add(destination, routingKey, args) !== false
  }

  unbind(destination: D, routingKey: string, args: Table | undefined): boolean {
    return this.#index.remove(destination, routingKey, args) !== false
  }

  route(_routingKey: string, _headers: Table | undefined, out: D[]): void {
    // The reverse index holds each destination once, however many bindings it has.
    for (const destination of this.#index.destinations()) out.push(destination)
  }

  removeDestination(destination: D): number {
    return this.#index.removeDestination(destination)
  }

  hasBindings(destination?: D): boolean {
    return this.#index.has(destination)
  }

  bindings(): Iterable<{ destination: D; routingKey: string; args: Table | undefined }> {
    return this.#index.entries()
  }
}

export const fanout: ExchangeType = {
  name: 'fanout',
  create: <D>() => new FanoutRouter<D>(),
}
