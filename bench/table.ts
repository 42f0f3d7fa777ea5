/**
 * Renders Warren's results beside each row's peer (RabbitMQ for AMQP rows, Mosquitto for MQTT
 * rows) as the markdown tables used in BENCHMARKS.md: one table per peer, plus a "Reference"
 * table for `self` rows, whose comparisons are other Warren rows (a metric's `reference`).
 *
 * @module
 */

import { type Group, PEER_LABEL, type PeerName, type RowDef, peerOf } from './rows/row.ts'
import { formatNumber } from './stats.ts'

export type TargetName = 'warren' | PeerName

export const TARGETS: readonly TargetName[] = ['warren', 'rabbitmq', 'mosquitto']

/** What one row produced on one broker: `values` are the medians of `runs`. */
export type RowOutcome =
  | { ok: true; values: Record<string, number>; runs?: Record<string, number>[] }
  | { ok: false; error: string; runs?: Record<string, number>[] }

/** One broker's results: row id -> outcome. `down` means it never started. */
export interface Side {
  down?: string
  rows: Record<string, RowOutcome>
}

/** Per broker; a broker missing here was not run. */
export type Results = Partial<Record<TargetName, Side>>

export function renderTable(rows: readonly RowDef[], results: Results): string {
  const peers: Group[] = []
  for (const row of rows) if (!peers.includes(peerOf(row))) peers.push(peerOf(row))
  return peers.map((p) => renderPeer(p, rows.filter((r) => peerOf(r) === p), results)).join('\n\n')
}

function renderPeer(peer: Group, rows: readonly RowDef[], results: Results): string {
  const name = PEER_LABEL[peer]
  const lines = [`| Metric | Warren | ${name} | Warren / ${peer === 'self' ? 'reference' : name} | Goal | Met |`, '| --- | ---: | ---: | ---: | --- | --- |']
  // A `self` table has no peer side: its comparisons come from other Warren rows.
  const peerSide = peer === 'self' ? undefined : results[peer]
  for (const row of rows) {
    for (const m of row.metrics) {
      const w = value(results.warren, row.id, m.key)
      const r = m.reference ? value(results.warren, m.reference.row, m.reference.key) : row.warrenOnly || peer === 'self' ? 'n/a' : value(peerSide, row.id, m.key)
      const ratio = typeof w === 'number' && typeof r === 'number' && r > 0 ? `${(w / r).toFixed(2)}x` : '–'
      // A relative goal needs both figures; an absolute one only Warren's.
      const wValues = results.warren?.rows[row.id]
      const judged = typeof w === 'number' && wValues?.ok && m.target.met && (typeof r === 'number' || m.target.absolute)
      const met = judged ? (m.target.met!(w, typeof r === 'number' ? r : Number.NaN, wValues.values) ? 'yes' : 'no') : '–'
      const wNote = typeof w === 'number' ? noteOf(m, results.warren, row.id) : ''
      const rNote = m.reference ? (r === undefined ? '' : ` (${m.reference.label})`) : typeof r === 'number' ? noteOf(m, peerSide, row.id) : ''
      lines.push(`| ${m.label} | ${cell(w, m.unit)}${wNote} | ${cell(r, m.unit)}${rNote} | ${ratio} | ${m.target.text} | ${met} |`)
    }
  }
  return lines.join('\n')
}

function noteOf(m: RowDef['metrics'][number], side: Side | undefined, rowId: string): string {
  const o = side?.rows[rowId]
  const text = o?.ok && m.note ? m.note(o.values) : undefined
  return text ? ` (${text})` : ''
}

function value(side: Side | undefined, rowId: string, key: string): number | string | undefined {
  if (!side) return undefined
  if (side.down !== undefined) return 'not yet runnable'
  const o = side.rows[rowId]
  if (!o) return undefined
  if (!o.ok) return `failed: ${o.error.replace(/\|/g, '/').slice(0, 80)}`
  return o.values[key]
}

function cell(v: number | string | undefined, unit: string): string {
  if (v === undefined) return 'not run'
  if (typeof v === 'string') return v
  return `${formatNumber(v)} ${unit}`
}
