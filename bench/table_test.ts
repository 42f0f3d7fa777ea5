import { expect, test } from 'bun:test'
import { atLeast, type RowDef } from './rows/row.ts'
import { renderTable } from './table.ts'

const rows: RowDef[] = [
  { id: 'a', repeatable: true, metrics: [{ key: 'rate', label: 'A', unit: 'msg/s', better: 'higher', target: atLeast(2) }], run: async () => ({}) },
  { id: 'b', repeatable: true, metrics: [{ key: 'rate', label: 'B', unit: 'msg/s', better: 'higher', target: atLeast(1) }], run: async () => ({}) },
]

test('puts both brokers side by side with ratio and goal', () => {
  const md = renderTable(rows, {
    warren: { rows: { a: { ok: true, values: { rate: 300 } }, b: { ok: false, error: 'boom | bad' } } },
    rabbitmq: { rows: { a: { ok: true, values: { rate: 100 } }, b: { ok: true, values: { rate: 50 } } } },
  })
  const lines = md.split('\n')
  expect(lines[2]).toBe('| A | 300 msg/s | 100 msg/s | 3.00x | >= 2x RabbitMQ | yes |')
  expect(lines[3]).toBe('| B | failed: boom / bad | 50.0 msg/s | – | >= RabbitMQ | – |')
})

test('marks a broker that did not start as not yet runnable', () => {
  const md = renderTable(rows, { warren: { down: 'no src/main.ts', rows: {} }, rabbitmq: { rows: { a: { ok: true, values: { rate: 100 } } } } })
  expect(md.split('\n')[2]).toBe('| A | not yet runnable | 100 msg/s | – | >= 2x RabbitMQ | – |')
})

test('shows a row note and lets a goal look at the other figures', () => {
  const noted: RowDef = {
    id: 'p',
    repeatable: true,
    metrics: [
      {
        key: 'rate',
        label: 'P',
        unit: 'msg/s',
        better: 'higher',
        target: { text: 'on disk', met: (w, r, v) => w >= r && v.writtenMB! > 0 },
        note: (v) => `${v.writtenMB} MB to disk`,
      },
    ],
    run: async () => ({}),
  }
  const md = renderTable([noted], {
    warren: { rows: { p: { ok: true, values: { rate: 200, writtenMB: 0 } } } },
    rabbitmq: { rows: { p: { ok: true, values: { rate: 100, writtenMB: 5 } } } },
  })
  expect(md.split('\n')[2]).toBe('| P | 200 msg/s (0 MB to disk) | 100 msg/s (5 MB to disk) | 2.00x | on disk | no |')
})
