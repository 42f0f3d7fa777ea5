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

/** The broker Warren is compared with on a row. */
export type PeerName = 'rabbitmq' | 'mosquitto'

/**
 * The table a row appears in: beside a peer broker, or `self` for Warren-only rows whose figures
 * are set against other Warren rows (a metric's `reference`), as issue 4's SSE fan-out is set
 * against Warren's own MQTT fan-out.
 */
export type Group = PeerName | 'self'

export const PEER_LABEL: Record<Group, string> = { rabbitmq: 'RabbitMQ', mosquitto: 'Mosquitto', self: 'Reference' }

export interface Metric {
  key: string
  /** Row label in the table. */
  label: string
  unit: string
  better: 'higher' | 'lower'
  /**
   * The goal for Warren, in words, and how to check it against both results. `values` are
   * all of Warren's figures for the row, for goals that look beyond the metric. An `absolute`
   * goal is judged on Warren's figure alone (`peer` is NaN when the peer has none); without `met`
   * there is no goal to judge.
   */
  target: { text: string; absolute?: boolean; met?(warren: number, peer: number, values: Record<string, number>): boolean }
  /** Extra context shown after the figure, from the row's other values (e.g. disk writes). */
  note?(values: Record<string, number>): string | undefined
  /**
   * In a `self` row: the figure this one is compared with is Warren's `key` in row `row` (shown
   * with `label`), instead of a peer's figure for this row.
   */
  reference?: { row: string; key: string; label: string }
}

export interface RowDef {
  id: string
  metrics: Metric[]
  /** The broker in the other column (default RabbitMQ): it runs this row too; `self`: none. */
  peer?: Group
  /** The peer cannot run this row (e.g. Mosquitto has no AMQP): its column shows "n/a". */
  warrenOnly?: boolean
  /** False when a second run on the same broker would measure something else (RSS baseline). */
  repeatable: boolean
  /** Repeat on a fresh broker each time (so a repeatable RSS row keeps a clean baseline). */
  freshBroker?: boolean
  /** Returns every metric key plus any extra figures worth keeping in the JSON results. */
  run(ctx: RowContext): Promise<Record<string, number>>
}

/** Goal "at least `factor` x the peer" for a higher-is-better metric. */
export function atLeast(factor: number, peer: PeerName = 'rabbitmq'): Metric['target'] {
  const name = PEER_LABEL[peer]
  return {
    text: factor === 1 ? `>= ${name}` : `>= ${factor}x ${name}`,
    met: (w, r) => w >= factor * r,
  }
}

/** Goal "no worse than RabbitMQ" for a lower-is-better metric. */
export const atMostRabbit: Metric['target'] = { text: '<= RabbitMQ', met: (w, r) => w <= r }

/** The peer a row is compared with (its table). */
export function peerOf(row: RowDef): Group {
  return row.peer ?? 'rabbitmq'
}

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
