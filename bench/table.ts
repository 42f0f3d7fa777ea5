/**
 * Renders both brokers' results side by side as the markdown table used in BENCHMARKS.md.
 *
 * @module
 */

import type { RowDef } from './rows/row.ts'
import { formatNumber } from './stats.ts'

export type TargetName = 'warren' | 'rabbitmq'

/** What one row produced on one broker: `values` are the medians of `runs`. */
export type RowOutcome =
  | { ok: true; values: Record<string, number>; runs?: Record<string, number>[] }
  | { ok: false; error: string; runs?: Record<string, number>[] }

/** Per broker: row id -> outcome. A broker missing here was not run; `down` means it never started. */
export interface Results {
  warren?: { down?: string; rows: Record<string, RowOutcome> }
  rabbitmq?: { down?: string; rows: Record<string, RowOutcome> }
}

export function renderTable(rows: readonly RowDef[], results: Results): string {
  const lines = ['| Metric | Warren | RabbitMQ | Warren / RabbitMQ | Goal | Met |', '| --- | ---: | ---: | ---: | --- | --- |']
  for (const row of rows) {
    for (const m of row.metrics) {
      const w = value(results.warren, row.id, m.key)
      const r = value(results.rabbitmq, row.id, m.key)
      const ratio = typeof w === 'number' && typeof r === 'number' && r > 0 ? `${(w / r).toFixed(2)}x` : '–'
      // Every goal is relative to RabbitMQ, so without both figures there is nothing to judge.
      const wValues = results.warren?.rows[row.id]
      const met = typeof w === 'number' && typeof r === 'number' && wValues?.ok ? (m.target.met(w, r, wValues.values) ? 'yes' : 'no') : '–'
      const wNote = typeof w === 'number' ? noteOf(m, results.warren, row.id) : ''
      const rNote = typeof r === 'number' ? noteOf(m, results.rabbitmq, row.id) : ''
      lines.push(`| ${m.label} | ${cell(w, m.unit)}${wNote} | ${cell(r, m.unit)}${rNote} | ${ratio} | ${m.target.text} | ${met} |`)
    }
  }
  return lines.join('\n')
}

function noteOf(m: RowDef['metrics'][number], side: Results['warren'], rowId: string): string {
  const o = side?.rows[rowId]
  const text = o?.ok && m.note ? m.note(o.values) : undefined
  return text ? ` (${text})` : ''
}

function value(side: Results['warren'], rowId: string, key: string): number | string | undefined {
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
