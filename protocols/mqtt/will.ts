/**
 * Last Will: what a CONNECT asked to be published when the connection ends without a normal
 * DISCONNECT [MQTT-3.1.2-8], and the timers of v5 Will Delay Intervals. A delayed will waits
 * for min(delay, session expiry) [MQTT-3.1.3-9]; a new connection of the same client cancels it.
 *
 * @module
 */
import type { PublishProperties } from './properties.ts'

export interface Will {
  readonly topic: string
  readonly payload: Uint8Array
  readonly qos: 0 | 1 | 2
  readonly retain: boolean
  /** MQTT 5 will properties, Will Delay Interval removed. */
  readonly properties: PublishProperties | undefined
  /** Will Delay Interval, seconds (0 for v3). */
  readonly delay: number
}

type Timer = ReturnType<typeof setTimeout>

/** Delayed wills of the adapter, by session key (vhost + client id). */
export class WillScheduler {
  #pending = new Map<string, { timer: Timer; publish: () => void }>()

  /** Publishes `publish` after `seconds`, replacing any will already waiting under `key`. */
  schedule(key: string, seconds: number, publish: () => void): void {
    this.cancel(key)
    const timer = setTimeout(() => {
      this.#pending.delete(key)
      publish()
    }, seconds * 1000)
    ;(timer as { unref?: () => void }).unref?.()
    this.#pending.set(key, { timer, publish })
  }

  /** Forgets the will waiting under `key` (the client reconnected); true if there was one. */
  cancel(key: string): boolean {
    const entry = this.#pending.get(key)
    if (entry === undefined) return false
    clearTimeout(entry.timer)
    this.#pending.delete(key)
    return true
  }

  /** Publishes the will waiting under `key` now (its session ended); true if there was one. */
  fire(key: string): boolean {
    const entry = this.#pending.get(key)
    if (entry === undefined) return false
    this.cancel(key)
    entry.publish()
    return true
  }

  /** Drops every waiting will (broker shutdown). */
  clear(): void {
    for (const entry of this.#pending.values()) clearTimeout(entry.timer)
    this.#pending.clear()
  }
}

/** Reads a CONNECT's will, or undefined. The Will Delay Interval moves out of the properties. */
export function willFromConnect(will: {
  topic: string
  payload: Uint8Array | string
  qos?: number
  retain?: boolean
  properties?: PublishProperties & { willDelayInterval?: number }
} | undefined): Will | undefined {
  if (will === undefined) return undefined
  let properties: PublishProperties | undefined
  let delay = 0
  if (will.properties !== undefined) {
    const { willDelayInterval, ...rest } = will.properties
    delay = willDelayInterval ?? 0
    properties = Object.keys(rest).length > 0 ? rest : undefined
  }
  const payload = typeof will.payload === 'string' ? new TextEncoder().encode(will.payload) : will.payload.slice()
  return { topic: will.topic, payload, qos: (will.qos ?? 0) as 0 | 1 | 2, retain: will.retain === true, properties, delay }
}
