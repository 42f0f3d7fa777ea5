/**
 * The broker as a real child process on a data directory, for the durability tests: start it,
 * read the ports from its ready line, kill it (-9 or TERM), start it again on the same
 * directory. Nothing here imports the broker.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')
const READY = /^Warren \S+ ready: amqp 127\.0\.0\.1:(\d+), mqtt 127\.0\.0\.1:(\d+), http 127\.0\.0\.1:(\d+) /m
const START_TIMEOUT_MS = 15_000

export interface BrokerProcess {
  readonly proc: ChildProcess
  readonly dataDir: string
  readonly amqpUrl: string
  readonly mqttUrl: string
  readonly httpUrl: string
  stdout(): string
  stderr(): string
  /** Resolves with the exit code, or the signal name. */
  readonly exited: Promise<number | string>
  /** kill -9: no flush, no goodbye. Resolves once the process is gone. */
  crash(): Promise<void>
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | string>
}

const running = new Set<BrokerProcess>()
const dirs: string[] = []

/** Kills what is still running and deletes the data directories: `afterAll(cleanup)` in each file. */
export function cleanup(): void {
  for (const b of running) b.proc.kill('SIGKILL')
  running.clear()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A fresh data directory, deleted by `cleanup`. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-durable-'))
  dirs.push(dir)
  return join(dir, 'data')
}

export interface BrokerProcessOptions {
  /** The HTTP port (default 0: any free one); a fixed one lets an EventSource reconnect by itself. */
  httpPort?: number
  /** Written to a JSON file next to the data directory and passed as --config. */
  config?: Record<string, unknown>
}

/** Starts `bun src/main.ts` on `dataDir` (ports 0 unless set) and waits for its ready line. */
export async function startBrokerProcess(
  dataDir: string,
  env: Record<string, string> = {},
  opts: BrokerProcessOptions = {},
): Promise<BrokerProcess> {
  const args = ['src/main.ts', '--amqp-port', '0', '--mqtt-port', '0', '--http-port', String(opts.httpPort ?? 0)]
  args.push('--host', '127.0.0.1', '--data-dir', dataDir)
  if (opts.config !== undefined) {
    const file = join(dirname(dataDir), 'warren.json')
    writeFileSync(file, JSON.stringify(opts.config))
    args.push('--config', file)
  }
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WARREN_LOG_LEVEL: 'warn', ...env },
  })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk))
  proc.stderr!.on('data', (chunk: Buffer) => (err += chunk))
  const exited = new Promise<number | string>((done) => proc.on('exit', (code, signal) => done(code ?? signal ?? -1)))
  const match = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in ${START_TIMEOUT_MS} ms:\n${out}${err}`)), START_TIMEOUT_MS)
    const check = (): void => {
      const m = out.match(READY)
      if (m === null) return
      clearTimeout(timer)
      resolveReady(m)
    }
    proc.stdout!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`broker exited with ${code} before ready:\n${out}${err}`))
    })
  })
  const broker: BrokerProcess = {
    proc,
    dataDir,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${match[1]}`,
    mqttUrl: `mqtt://127.0.0.1:${match[2]}`,
    httpUrl: `http://127.0.0.1:${match[3]}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    async crash() {
      proc.kill('SIGKILL')
      await exited
      running.delete(broker)
    },
    async stop() {
      proc.kill('SIGTERM')
      const code = await exited
      running.delete(broker)
      return code
    },
  }
  running.add(broker)
  return broker
}

/** Stderr lines at warn or error level (the log format of src/log.ts). */
export function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => / (warn|error) /.test(line))
}

/** A port that was free a moment ago (bound to 0 and released), for a broker that restarts on it. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((done) => server.close(() => done()))
  return port
}
