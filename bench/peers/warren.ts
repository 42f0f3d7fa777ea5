/**
 * Starts Warren as its own process (`bun src/main.ts`, every port 0, a temp data dir) and reads
 * the AMQP, MQTT and HTTP ports from its startup line
 * (`… amqp 127.0.0.1:PORT, mqtt 127.0.0.1:PORT, http 127.0.0.1:PORT …`).
 * The open-file limit is raised for the 10,000-connection row, and the MQTT in-flight window and
 * session queue limit are set as for Mosquitto (MQTT_SETTINGS, through a `--config` file), and a
 * live SSE subscription's queue limit as the MQTT one.
 *
 * @module
 */

import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withManyFiles } from '../child.ts'
import { type BrokerHandle, MQTT_SETTINGS } from './broker.ts'

const ROOT = new URL('../../', import.meta.url).pathname

export interface WarrenOptions {
  /** Write a CPU profile (bun --cpu-prof --cpu-prof-md) into this directory on exit. */
  profileDir?: string
  /** Startup deadline in ms. */
  timeout?: number
  /** Where the broker's stdout/stderr go. */
  logFile?: string
}

export async function startWarren(opts: WarrenOptions = {}): Promise<BrokerHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-'))
  const prof = opts.profileDir ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${opts.profileDir}`] : []
  if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true })
  const configFile = `${dataDir}.json`
  writeFileSync(
    configFile,
    JSON.stringify({
      mqttReceiveMaximum: MQTT_SETTINGS.inflight,
      mqttSessionQueueLimit: MQTT_SETTINGS.warrenSessionQueueLimit,
      sseLiveQueueLimit: MQTT_SETTINGS.warrenSseLiveQueueLimit,
    }),
  )
  const argv = ['--amqp-port', '0', '--mqtt-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--config', configFile]
  // `exec` in the wrapper keeps the pid, so RSS and CPU are still read from the broker itself.
  const cmd = withManyFiles([process.execPath, ...prof, join(ROOT, 'src/main.ts'), ...argv])
  // Warnings only, as bench/peers/rabbitmq.sh configures RabbitMQ: per-connection info lines are
  // not what we measure.
  const env = { ...process.env, WARREN_LOG_LEVEL: process.env.WARREN_LOG_LEVEL ?? 'warn' }
  const logPath = opts.logFile ?? join(ROOT, '.bench-tmp', 'warren.log')
  mkdirSync(join(logPath, '..'), { recursive: true })
  const log = createWriteStream(logPath)
  const timeout = opts.timeout ?? 20000
  type Ports = { host: string; port: number; mqttPort: number; httpPort: number }

  /** Spawns the broker on `dataDir` and waits for its ready line (printed after recovery). */
  const launch = async (): Promise<{ proc: ReturnType<typeof Bun.spawn>; ports: Ports } | Error> => {
    const proc = Bun.spawn(cmd, { cwd: ROOT, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    current = proc
    let found: ((ports: Ports) => void) | null = null
    const ready = new Promise<Ports>((resolve) => (found = resolve))
    // Keep draining both pipes for the broker's whole life so a chatty log never blocks it.
    const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
      const decoder = new TextDecoder()
      let pending = ''
      for await (const chunk of stream) {
        log.write(chunk)
        if (!found) continue
        pending += decoder.decode(chunk, { stream: true })
        const m = /\bamqp ([\d.]+):(\d+)(?=\D)/.exec(pending)
        const mq = /\bmqtt [\d.]+:(\d+)(?=\D)/.exec(pending)
        const http = /\bhttp [\d.]+:(\d+)(?=\D)/.exec(pending)
        if (m && mq && http) {
          found({ host: m[1]!, port: Number(m[2]), mqttPort: Number(mq[1]), httpPort: Number(http[1]) })
          found = null
          pending = ''
        } else if (pending.length > 65536) pending = pending.slice(-1024)
      }
    }
    void pump(proc.stdout as ReadableStream<Uint8Array>)
    void pump(proc.stderr as ReadableStream<Uint8Array>)
    let timer: ReturnType<typeof setTimeout> | undefined
    const outcome = await Promise.race([
      ready,
      proc.exited.then((code) => new Error(`Warren exited with code ${code} during startup; see ${logPath}`)),
      new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`Warren printed no "amqp HOST:PORT, mqtt HOST:PORT, http HOST:PORT" line within ${timeout} ms; see ${logPath}`)), timeout))),
    ])
    clearTimeout(timer)
    return outcome instanceof Error ? outcome : { proc, ports: outcome }
  }

  let current: ReturnType<typeof Bun.spawn> | null = null
  const stopProc = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const proc = current
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    // SIGTERM first so a profile gets written; SIGKILL if shutdown hangs.
    proc.kill(signal)
    let t: ReturnType<typeof setTimeout> | undefined
    await Promise.race([proc.exited, new Promise((r) => (t = setTimeout(r, 10000)))])
    clearTimeout(t)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await proc.exited
  }
  const cleanup = async (): Promise<void> => {
    await stopProc('SIGTERM')
    log.end()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(configFile, { force: true })
  }
  const first = await launch()
  if (first instanceof Error) {
    await cleanup()
    throw first
  }
  let state = first
  const pkg = (await Bun.file(join(ROOT, 'package.json')).json()) as { version: string }
  return {
    name: 'Warren',
    get host() {
      return state.ports.host
    },
    get port() {
      return state.ports.port
    },
    get mqttPort() {
      return state.ports.mqttPort
    },
    get httpPort() {
      return state.ports.httpPort
    },
    get pid() {
      return state.proc.pid
    },
    version: `warren ${pkg.version} on bun ${Bun.version}`,
    stop: cleanup,
    async killAndRestart() {
      await stopProc('SIGKILL')
      const spawnedAt = performance.now()
      const next = await launch()
      if (next instanceof Error) throw next
      const readyAt = performance.now()
      state = next
      return { spawnedAt, readyAt }
    },
  }
}
