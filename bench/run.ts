/**
 * Benchmark runner: starts each broker in turn, runs the same rows against it with the raw AMQP
 * and MQTT load generators in bench/roles/, and prints markdown tables with Warren beside each
 * row's peer: RabbitMQ for the AMQP rows, Mosquitto for the MQTT rows, and for the Warren-only
 * HTTP/SSE rows a "Reference" table that sets a figure against another Warren row.
 *
 *   bun bench/run.ts [--target warren|rabbitmq|mosquitto|both] [--rows id,id] [--scale 0.1]
 *                    [--repeat 3] [--timeout SECONDS] [--profile] [--json PATH]
 *   bun bench/run.ts --render PATH   re-print the table of a saved results file
 *
 * `both` (the default) runs Warren on every row and each peer on the rows it is compared on; a
 * peer with no selected row is not started. Each repeatable row runs `--repeat` times and the
 * table shows the median: on a 2-core machine shared by broker and clients single runs vary by
 * tens of percent. Rows marked freshBroker get a new broker for every repeat.
 *
 * Row ids: see bench/rows/mod.ts. RabbitMQ comes from bench/peers/rabbitmq.sh, Mosquitto from
 * bench/peers/mosquitto.sh (Debian packages).
 * Never part of the test suite: numbers depend on the machine and nothing here asserts on them.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { machineInfo } from './machine.ts'
import type { BrokerHandle } from './peers/broker.ts'
import { startMosquitto } from './peers/mosquitto.ts'
import { startRabbitMQ } from './peers/rabbitmq.ts'
import { startWarren } from './peers/warren.ts'
import { medianOf } from './stats.ts'
import { ROWS } from './rows/mod.ts'
import { type RowDef, peerOf } from './rows/row.ts'
import { type Results, type RowOutcome, type Side, TARGETS, type TargetName, renderTable } from './table.ts'

const ROOT = new URL('../', import.meta.url).pathname
const TMP = join(ROOT, '.bench-tmp')

const { values: opts } = parseArgs({
  options: {
    target: { type: 'string', default: 'both' },
    rows: { type: 'string' },
    scale: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '180' },
    repeat: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (opts.help) {
  console.log(`usage: bun bench/run.ts [--target warren|rabbitmq|mosquitto|both] [--rows ${ROWS.map((r) => r.id).join(',')}] [--scale N] [--repeat N] [--timeout S] [--profile] [--json PATH] | --render PATH`)
  process.exit(0)
}

if (opts.render) {
  const saved = (await Bun.file(opts.render).json()) as { results: Results }
  console.log(renderTable(ROWS, saved.results))
  process.exit(0)
}

const asked: TargetName[] = opts.target === 'both' ? [...TARGETS] : [opts.target as TargetName]
for (const t of asked) if (!TARGETS.includes(t)) throw new Error(`Unknown target "${t}": expected ${TARGETS.join(', ')} or both`)
const wanted = opts.rows ? new Set(opts.rows.split(',').map((s) => s.trim())) : null
for (const id of wanted ?? []) if (!ROWS.some((r) => r.id === id)) throw new Error(`Unknown row "${id}": expected one of ${ROWS.map((r) => r.id).join(', ')}`)
const rows: RowDef[] = ROWS.filter((r) => !wanted || wanted.has(r.id))
/** The rows a broker runs: Warren all of them, a peer those it is compared on and can run. */
const rowsOf = (t: TargetName): RowDef[] => rows.filter((r) => t === 'warren' || (peerOf(r) === t && !r.warrenOnly))
const targets = asked.filter((t) => rowsOf(t).length > 0)
const scale = Number(opts.scale)
if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${opts.scale}"`)
const timeoutMs = Number(opts.timeout) * 1000
const repeat = Number(opts.repeat)
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, got "${opts.repeat}"`)

const log = (m: string): void => void process.stderr.write(`${m}\n`)
const machine = machineInfo()
const versions: Partial<Record<TargetName, string>> = {}
const results: Results = {}
let current: BrokerHandle | null = null

// Ctrl-C must not leave a broker behind.
process.on('SIGINT', () => {
  log('interrupted; stopping broker')
  void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130))
})

const started = new Date()
const start = (target: TargetName, row: RowDef): Promise<BrokerHandle> => {
  if (target === 'warren') return startWarren(opts.profile ? { profileDir: join(TMP, 'prof', row.id) } : {})
  return target === 'rabbitmq' ? startRabbitMQ() : startMosquitto()
}

for (const target of targets) {
  log(`== ${target}`)
  const side: Side = { rows: {} }
  results[target] = side
  for (const row of rowsOf(target)) {
    // A fresh broker per row: background work left by a previous row (queue deletion, message
    // store compaction, GC) must not land in this row's figures, and the RSS row needs a clean
    // baseline anyway.
    try {
      current = await start(target, row)
    } catch (e) {
      const message = (e as Error).message
      log(`  ${target} did not start: ${message}`)
      if (!versions[target]) {
        side.down = message
        break
      }
      side.rows[row.id] = { ok: false, error: `broker did not start: ${message}` }
      continue
    }
    if (!versions[target]) log(`  ${current.version}`)
    versions[target] = current.version
    const t0 = performance.now()
    let outcome: RowOutcome
    const runs: Record<string, number>[] = []
    try {
      for (let i = 0; i < (row.repeatable ? repeat : 1); i++) {
        if (i > 0 && row.freshBroker) {
          await current.stop()
          current = null
          current = await start(target, row)
        }
        runs.push(await row.run({ broker: current, scale, timeoutMs, log }))
        if (repeat > 1 && row.repeatable) log(`    run ${i + 1}: ${JSON.stringify(roundAll(runs[i]!))}`)
      }
      outcome = { ok: true, values: medianOf(runs), runs }
    } catch (e) {
      outcome = { ok: false, error: (e as Error).message, runs }
    } finally {
      await current?.stop()
      current = null
    }
    side.rows[row.id] = outcome
    const secs = ((performance.now() - t0) / 1000).toFixed(1)
    log(`  ${row.id}${runs.length > 1 ? ' (median)' : ''}: ${outcome.ok ? JSON.stringify(roundAll(outcome.values)) : `FAILED ${outcome.error}`} (${secs} s)`)
  }
}

const table = renderTable(rows, results)
const header = [
  `Run ${started.toISOString()}: scale ${scale}, median of ${repeat}, rows ${rows.map((r) => r.id).join(', ')}`,
  `Machine: ${machine.nproc} cores, ${machine.cpu}, ${machine.ramGiB} GiB RAM, ${machine.os}, kernel ${machine.kernel}, bun ${machine.bun}`,
  ...targets.map((t) => `${t}: ${versions[t] ?? results[t]?.down ?? 'not started'}`),
]
console.log(`${header.join('\n')}\n\n${table}`)

mkdirSync(TMP, { recursive: true })
const jsonPath = opts.json ?? join(TMP, `results-${started.toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(jsonPath, JSON.stringify({ started: started.toISOString(), scale, repeat, machine, versions, results }, null, 2))
log(`results written to ${jsonPath}`)

function roundAll(v: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(v).map(([k, n]) => [k, Math.round(n * 100) / 100]))
}
