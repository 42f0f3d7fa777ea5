/**
 * The direct exchange: a binding matches when its routing key equals the message's.
 *
 * @module
 */
import type { Table } from '../../api.ts'
import type { ExchangeRouter, ExchangeType } from '../exchange_type.ts'
import { BindingIndex } from './binding_index.ts'

class DirectRouter<D> implements ExchangeRouter<D> {
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

  route(routingKey: string, _headers: Table | undefined, out: D[]): void {
    const destinations = this.#index.withKey(routingKey)
    if (destinations !== undefined) for (const destination of destinations.keys()) out.push(destination)
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

export const direct: ExchangeType = {
  name: 'direct',
  create: <D>() => new DirectRouter<D>(),
}
