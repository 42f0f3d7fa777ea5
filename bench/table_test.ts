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

test('MQTT rows get a Mosquitto table: n/a for a Warren-only row, an absolute goal judged alone', () => {
  const mq: RowDef[] = [
    { id: 'q0', peer: 'mosquitto', repeatable: true, metrics: [{ key: 'rate', label: 'Q0', unit: 'msg/s', better: 'higher', target: atLeast(1, 'mosquitto') }], run: async () => ({}) },
    {
      id: 'idle',
      peer: 'mosquitto',
      repeatable: true,
      metrics: [{ key: 'kib', label: 'Idle', unit: 'KiB', better: 'lower', target: { text: '< 10 KiB', absolute: true, met: (w) => w < 10 } }],
      run: async () => ({}),
    },
    { id: 'x', peer: 'mosquitto', warrenOnly: true, repeatable: true, metrics: [{ key: 'rate', label: 'X', unit: 'msg/s', better: 'higher', target: { text: 'none' } }], run: async () => ({}) },
  ]
  const md = renderTable([...rows, ...mq], {
    warren: { rows: { a: { ok: true, values: { rate: 300 } }, q0: { ok: true, values: { rate: 50 } }, idle: { ok: true, values: { kib: 4 } }, x: { ok: true, values: { rate: 7 } } } },
    rabbitmq: { rows: { a: { ok: true, values: { rate: 100 } } } },
    mosquitto: { down: 'not installed', rows: {} },
  })
  const [amqp, mqtt] = md.split('\n\n')
  expect(amqp!.split('\n')[0]).toBe('| Metric | Warren | RabbitMQ | Warren / RabbitMQ | Goal | Met |')
  const lines = mqtt!.split('\n')
  expect(lines[0]).toBe('| Metric | Warren | Mosquitto | Warren / Mosquitto | Goal | Met |')
  expect(lines[2]).toBe('| Q0 | 50.0 msg/s | not yet runnable | – | >= Mosquitto | – |')
  expect(lines[3]).toBe('| Idle | 4.00 KiB | not yet runnable | – | < 10 KiB | yes |')
  expect(lines[4]).toBe('| X | 7.00 msg/s | n/a | – | none | – |')
})

test('a self table sets a metric against another Warren row, and judges absolute goals alone', () => {
  const selfRows: RowDef[] = [
    { id: 'ref', peer: 'self', warrenOnly: true, repeatable: true, metrics: [{ key: 'rate', label: 'Ref', unit: 'msg/s', better: 'higher', target: { text: 'none' } }], run: async () => ({}) },
    {
      id: 'sse',
      peer: 'self',
      warrenOnly: true,
      repeatable: true,
      metrics: [
        {
          key: 'rate',
          label: 'SSE',
          unit: 'msg/s',
          better: 'higher',
          target: { text: '>= 80% of Ref', met: (w, r) => w >= 0.8 * r },
          reference: { row: 'ref', key: 'rate', label: 'Ref row' },
        },
        { key: 'ms', label: 'List', unit: 'ms', better: 'lower', target: { text: '< 300 ms', absolute: true, met: (w) => w < 300 } },
      ],
      run: async () => ({}),
    },
  ]
  const md = renderTable(selfRows, { warren: { rows: { ref: { ok: true, values: { rate: 1000 } }, sse: { ok: true, values: { rate: 700, ms: 120 } } } } })
  const lines = md.split('\n')
  expect(lines[0]).toBe('| Metric | Warren | Reference | Warren / reference | Goal | Met |')
  expect(lines[2]).toBe('| Ref | 1,000 msg/s | n/a | – | none | – |')
  expect(lines[3]).toBe('| SSE | 700 msg/s | 1,000 msg/s (Ref row) | 0.70x | >= 80% of Ref | no |')
  expect(lines[4]).toBe('| List | 120 ms | n/a | – | < 300 ms | yes |')
})
