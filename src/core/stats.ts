/**
 * Message counters (RabbitMQ's message_stats) kept by queues and vhosts, and the lazy sampler
 * that turns them into per-second rates for the management API. Counting is a field increment
 * on the hot path; nothing here runs a timer.
 *
 * @module
 */
import type { MessageStats } from '../api.ts'

/** Cumulative counts since the queue or vhost was created. */
export class MessageCounters implements MessageStats {
  publish = 0
  confirm = 0
  unroutable = 0
  returned = 0
  deliver = 0
  deliverNoAck = 0
  get = 0
  getNoAck = 0
  getEmpty = 0
  ack = 0
  redeliver = 0
}

/** The counter names, in a fixed order, for sampling and summing. */
export const COUNTER_NAMES = [
  'publish',
  'confirm',
  'unroutable',
  'returned',
  'deliver',
  'deliverNoAck',
  'get',
  'getNoAck',
  'getEmpty',
  'ack',
  'redeliver',
] as const satisfies readonly (keyof MessageStats)[]

/** Adds `from` into `into`. */
export function addCounters(into: MessageStats, from: MessageStats): void {
  for (const name of COUNTER_NAMES) into[name] += from[name]
}

/** Copies counters into a plain object (what the management API hands out). */
export function copyCounters(from: MessageStats): MessageStats {
  const out = new MessageCounters()
  addCounters(out, from)
  return { ...out }
}

/** Samples closer together than this keep the previous rates, so rates do not jitter. */
export const MIN_SAMPLE_INTERVAL_MS = 1000

/**
 * Rates per second of a fixed set of values, sampled when asked: the rate is the change between
 * the last two samples divided by the time between them. A sample is taken only when the last
 * one is at least MIN_SAMPLE_INTERVAL_MS old; until there are two samples every rate is 0.
 * Nobody asking costs nothing, but then the next rate averages over the whole quiet period.
 */
export class RateSampler {
  #at = 0
  #values: Float64Array
  #rates: Float64Array

  constructor(size: number) {
    this.#values = new Float64Array(size)
    this.#rates = new Float64Array(size)
  }

  /** Rates for `values` (same order every call) at time `now` (ms). The result is reused. */
  sample(values: ArrayLike<number>, now: number): Float64Array {
    if (this.#at === 0) {
      this.#store(values, now)
    } else if (now - this.#at >= MIN_SAMPLE_INTERVAL_MS) {
      const seconds = (now - this.#at) / 1000
      for (let i = 0; i < this.#values.length; i++) this.#rates[i] = (values[i]! - this.#values[i]!) / seconds
      this.#store(values, now)
    }
    return this.#rates
  }

  #store(values: ArrayLike<number>, now: number): void {
    this.#at = now
    for (let i = 0; i < this.#values.length; i++) this.#values[i] = values[i]!
  }
}

/** Number of extra queue-length values sampled after the counters (messages, ready, unacked). */
export const LENGTH_VALUES = 3

/**
 * Samples counters plus the three queue lengths (total, ready, unacked) and returns the rates as
 * MessageStats and a lengths triple.
 */
export class ActivitySampler {
  #sampler = new RateSampler(COUNTER_NAMES.length + LENGTH_VALUES)
  #values = new Float64Array(COUNTER_NAMES.length + LENGTH_VALUES)

  sample(
    counters: MessageStats,
    lengths: readonly [number, number, number],
    now: number,
  ): { rates: MessageStats; lengthRates: [number, number, number] } {
    const values = this.#values
    let i = 0
    for (const name of COUNTER_NAMES) values[i++] = counters[name]
    values[i++] = lengths[0]
    values[i++] = lengths[1]
    values[i] = lengths[2]
    const sampled = this.#sampler.sample(values, now)
    const rates = new MessageCounters()
    i = 0
    for (const name of COUNTER_NAMES) rates[name] = sampled[i++]!
    return { rates: { ...rates }, lengthRates: [sampled[i]!, sampled[i + 1]!, sampled[i + 2]!] }
  }
}
