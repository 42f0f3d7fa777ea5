/**
 * The topic exchange: binding keys are patterns ('*' one word, '#' zero or more) matched through
 * the shared {@link TopicTrie}. The trie holds one entry per (pattern, destination) pair; the
 * binding index keeps the argument variants that only matter for binding identity.
 *
 * @module
 */
import type { Table } from '../../api.ts'
import type { ExchangeRouter, ExchangeType } from '../exchange_type.ts'
import { TopicTrie } from '../topic_trie.ts'
import { BindingIndex } from './binding_index.ts'

class TopicRouter<D> implements ExchangeRouter<D> {
  #index = new BindingIndex<D>()
  #trie = new TopicTrie<D>()

  get size(): number {
    return this.#index.size
  }

  bind(destination: D, routingKey: string, args: Table | undefined): boolean {
    const change = this.#index.add(destination, routingKey, args)
    if (change === 'pair') this.#trie.add(routingKey, destination)
    return change !== false
  }

  unbind(destination: D, routingKey: string, args: Table | undefined): boolean {
    const change = this.#index.remove(destination, routingKey, args)
    if (change === 'pair') this.#trie.remove(routingKey, destination)
    return change !== false
  }

  route(routingKey: string, _headers: Table | undefined, out: D[]): void {
    this.#trie.match(routingKey, out)
  }

  removeDestination(destination: D): number {
    return this.#index.removeDestination(destination, (key) => this.#trie.remove(key, destination))
  }

  hasBindings(destination?: D): boolean {
    return this.#index.has(destination)
  }

  bindings(): Iterable<{ destination: D; routingKey: string; args: Table | undefined }> {
    return this.#index.entries()
  }
}

export const topic: ExchangeType = {
  name: 'topic',
  create: <D>() => new TopicRouter<D>(),
}
