/**
 * Retained messages: one per topic per vhost, kept in the core's key-value store (namespace
 * 'mqtt-retained', durable once the store is) and indexed in memory as a tree of topic levels,
 * so a subscription with wildcards finds every retained topic it matches [MQTT-3.3.1-6] without
 * scanning them all. Topics starting with '$' are not matched by a leading wildcard
 * [MQTT-4.7.2-1].
 *
 * The tree's levels are the AMQP words of the topic's routing key and a filter matches through
 * its binding pattern, both from the adapter's topic mapper (topic.ts): retained messages match
 * exactly as live messages route. With the escaping mapping those words are the MQTT levels;
 * with RabbitMQ's lossy one "a/v1.2" has three. Retained messages never enter the core. Every
 * match is returned; there is no cap on how many one subscribe receives.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { KeyValueStore } from '../../src/api.ts'
import type { PublishProperties } from './properties.ts'
import { topicMapper, type TopicMapper } from './topic.ts'

export const RETAINED_NAMESPACE = 'mqtt-retained'

export interface RetainedMessage {
  readonly topic: string
  readonly payload: Uint8Array
  readonly qos: 0 | 1 | 2
  /** MQTT 5 properties as published (topic alias and subscription identifiers removed). */
  readonly properties: PublishProperties | undefined
  /** Epoch ms when it was stored: its Message Expiry Interval counts from here. */
  readonly storedAt: number
}

class Level {
  children: Map<string, Level> | undefined = undefined
  message: RetainedMessage | undefined = undefined
}

const FORMAT = 1
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Whether `m` has outlived its Message Expiry Interval at `now`. */
export function isExpired(m: RetainedMessage, now: number): boolean {
  const mei = m.properties?.messageExpiryInterval
  return mei !== undefined && now - m.storedAt >= mei * 1000
}

/** [format][qos][u32 json length][json: storedAt, properties][payload] */
export function encodeRetained(m: RetainedMessage): Uint8Array {
  const props = m.properties
  const json = JSON.stringify({
    t: m.storedAt,
    p: props === undefined ? undefined : { ...props, correlationData: props.correlationData && Buffer.from(props.correlationData).toString('base64') },
  })
  const head = encoder.encode(json)
  const out = new Uint8Array(6 + head.length + m.payload.length)
  out[0] = FORMAT
  out[1] = m.qos
  new DataView(out.buffer).setUint32(2, head.length)
  out.set(head, 6)
  out.set(m.payload, 6 + head.length)
  return out
}

export function decodeRetained(topic: string, bytes: Uint8Array): RetainedMessage | undefined {
  if (bytes.length < 6 || bytes[0] !== FORMAT) return undefined
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2)
  try {
    const { t, p } = JSON.parse(decoder.decode(bytes.subarray(6, 6 + length))) as { t: number; p?: Record<string, unknown> }
    let properties: PublishProperties | undefined
    if (p !== undefined) {
      properties = p as PublishProperties
      if (typeof p.correlationData === 'string') properties.correlationData = Buffer.from(p.correlationData, 'base64')
    }
    return { topic, payload: bytes.subarray(6 + length), qos: (bytes[1]! & 3) as 0 | 1 | 2, properties, storedAt: t }
  } catch {
    return undefined
  }
}

export class RetainedStore {
  #kv: KeyValueStore | undefined
  #roots = new Map<string, Level>()
  #topics: TopicMapper

  /** `topics`: the adapter's mapping (default: the escaping one). */
  constructor(topics: TopicMapper = topicMapper(true)) {
    this.#topics = topics
  }

  /** Hands the store its key-value namespace (any core connection has it) and loads what it holds. */
  attach(kv: KeyValueStore): void {
    if (this.#kv !== undefined) return
    this.#kv = kv
    for (const [key, value] of kv.entries()) {
      const sep = key.indexOf('\u0000')
      if (sep < 0) continue
      const topic = key.slice(sep + 1)
      const m = decodeRetained(topic, value)
      if (m !== undefined) this.#put(key.slice(0, sep), m)
    }
  }

  /** Stores (or, with an empty payload, clears [MQTT-3.3.1-10]) the retained message of a topic. */
  set(vhost: string, m: RetainedMessage): void {
    const key = `${vhost}\u0000${m.topic}`
    if (m.payload.length === 0) {
      this.#remove(vhost, m.topic)
      void this.#kv?.set(key, null)
      return
    }
    // A copy: the payload is a slice of a socket chunk, which must not stay pinned for as long as
    // the message is retained.
    const kept: RetainedMessage = { ...m, payload: m.payload.slice() }
    this.#put(vhost, kept)
    void this.#kv?.set(key, encodeRetained(kept))
  }

  /** Every live retained message whose topic matches `filter`; expired ones are dropped on the way. */
  match(vhost: string, filter: string, now: number): RetainedMessage[] {
    const root = this.#roots.get(vhost)
    const out: RetainedMessage[] = []
    if (root === undefined) return out
    const levels = this.#topics.toPattern(filter).split('.')
    // Explicit stack: (node, level index); bounded by the number of tree nodes.
    const stack: [Level, number][] = [[root, 0]]
    while (stack.length > 0) {
      const [node, i] = stack.pop()!
      if (i === levels.length) {
        if (node.message !== undefined) out.push(node.message)
        continue
      }
      const level = levels[i]!
      if (level === '#') {
        // "a/#" matches "a" itself too [MQTT-4.7.1-2].
        if (i > 0 && node.message !== undefined) out.push(node.message)
        this.#collect(node, i === 0, out)
      } else if (level === '*') {
        if (node.children === undefined) continue
        for (const [word, child] of node.children) {
          if (i === 0 && word.startsWith('$')) continue
          stack.push([child, i + 1])
        }
      } else {
        const child = node.children?.get(level)
        if (child !== undefined) stack.push([child, i + 1])
      }
    }
    const live = out.filter((m) => !isExpired(m, now))
    if (live.length !== out.length) for (const m of out) if (isExpired(m, now)) this.set(vhost, { ...m, payload: new Uint8Array(0) })
    return live
  }

  /** Number of retained messages in a vhost (tests, management). */
  count(vhost: string): number {
    const root = this.#roots.get(vhost)
    if (root === undefined) return 0
    const out: RetainedMessage[] = []
    this.#collect(root, false, out)
    return out.length
  }

  /** Every message below `node` (not `node`'s own); `skipDollar` at the root. */
  #collect(node: Level, skipDollar: boolean, out: RetainedMessage[]): void {
    const stack: Level[] = []
    if (node.children !== undefined) {
      for (const [word, child] of node.children) if (!skipDollar || !word.startsWith('$')) stack.push(child)
    }
    while (stack.length > 0) {
      const n = stack.pop()!
      if (n.message !== undefined) out.push(n.message)
      if (n.children !== undefined) for (const child of n.children.values()) stack.push(child)
    }
  }

  #put(vhost: string, m: RetainedMessage): void {
    let node = this.#roots.get(vhost)
    if (node === undefined) {
      node = new Level()
      this.#roots.set(vhost, node)
    }
    for (const level of this.#topics.toRoutingKey(m.topic).split('.')) {
      node.children ??= new Map()
      let child: Level | undefined = node.children.get(level)
      if (child === undefined) {
        child = new Level()
        node.children.set(level, child)
      }
      node = child
    }
    node.message = m
  }

  #remove(vhost: string, topic: string): void {
    const root = this.#roots.get(vhost)
    if (root === undefined) return
    const levels = this.#topics.toRoutingKey(topic).split('.')
    const path: Level[] = [root]
    let node = root
    for (const level of levels) {
      const child = node.children?.get(level)
      if (child === undefined) return
      path.push(child)
      node = child
    }
    node.message = undefined
    // Prune levels left empty, deepest first.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!
      if (n.message !== undefined || (n.children !== undefined && n.children.size > 0)) break
      path[i - 1]!.children!.delete(levels[i - 1]!)
    }
  }
}
