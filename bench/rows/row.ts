/**
 * A benchmark row: one scenario run against one broker, yielding one or more metrics.
 *
 * @module
 */

import type { BrokerHandle } from '../peers/broker.ts'

export interface RowContext {
  broker: BrokerHandle
  /** Multiplies every message count (0.1 for a quick check). */
  scale: number
  /** Upper bound for one row's measurement phase, in ms. */
  timeoutMs: number
  log(message: string): void
}

export interface Metric {
  key: string
  /** Row label in the table. */
  label: string
  unit: string
  better: 'higher' | 'lower'
  /** The goal for Warren, in words, and how to check it against both results. */
  /** `values` are all of Warren's figures for the row, for goals that look beyond the metric. */
  target: { text: string; met(warren: number, rabbitmq: number, values: Record<string, number>): boolean }
  /** Extra context shown after the figure, from the row's other values (e.g. disk writes). */
  note?(values: Record<string, number>): string | undefined
}

export interface RowDef {
  id: string
  metrics: Metric[]
  /** False when a second run on the same broker would measure something else (RSS baseline). */
  repeatable: boolean
  /** Returns every metric key plus any extra figures worth keeping in the JSON results. */
  run(ctx: RowContext): Promise<Record<string, number>>
}

/** Goal "at least `factor` x RabbitMQ" for a higher-is-better metric. */
export function atLeast(factor: number): Metric['target'] {
  return {
    text: factor === 1 ? '>= RabbitMQ' : `>= ${factor}x RabbitMQ`,
    met: (w, r) => w >= factor * r,
  }
}

/** Goal "no worse than RabbitMQ" for a lower-is-better metric. */
export const atMostRabbit: Metric['target'] = { text: '<= RabbitMQ', met: (w, r) => w <= r }

/** A short unique suffix so rows never see each other's queues. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`
}

/** Resolves `p`, or rejects after `ms` with `what` in the message. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}
