/**
 * Runs a bench role (bench/roles/*.ts) in its own Bun process and waits for its event lines, so
 * load generators do not share an event loop with each other or with the runner.
 *
 * @module
 */

import type { Subprocess } from 'bun'
import { cpuSeconds as procCpuSeconds } from './peers/broker.ts'

type Event = Record<string, unknown> & { event: string }

export class Child {
  #proc: Subprocess<'ignore', 'pipe', 'inherit'>
  #events: Event[] = []
  #wake: (() => void) | null = null
  #exitCode: number | null = null
  readonly name: string

  private constructor(name: string, proc: Subprocess<'ignore', 'pipe', 'inherit'>) {
    this.name = name
    this.#proc = proc
    void this.#read()
  }

  /**
   * Starts `bun <script> '<json args>'` with the same Bun binary as the runner. `manyFiles`
   * raises the open-file limit first (for thousands of sockets), as far as the hard limit allows.
   */
  static spawn(script: string, args: object, opts: { manyFiles?: boolean } = {}): Child {
    const path = new URL(script, import.meta.url).pathname
    const cmd = [process.execPath, path, JSON.stringify(args)]
    const proc = Bun.spawn(opts.manyFiles ? withManyFiles(cmd) : cmd, { stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' })
    return new Child(script, proc)
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of this.#proc.stdout) {
      buf += decoder.decode(chunk, { stream: true })
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (!line) continue
        try {
          this.#events.push(JSON.parse(line) as Event)
        } catch {
          process.stderr.write(`[${this.name}] ${line}\n`)
        }
      }
      this.#notify()
    }
    this.#exitCode = await this.#proc.exited
    this.#notify()
  }

  #notify(): void {
    const w = this.#wake
    this.#wake = null
    w?.()
  }

  /**
   * Resolves with the next `event` line (earlier lines of other kinds are skipped). Rejects when
   * the child reports `error`, exits first, or `timeoutMs` passes.
   */
  async next(event: string, timeoutMs: number): Promise<Event> {
    const deadline = performance.now() + timeoutMs
    // Each pass either consumes a buffered line or waits for new output, exit, or the deadline.
    for (;;) {
      const e = this.#events.shift()
      if (e) {
        if (e.event === event) return e
        if (e.event === 'error') throw new Error(`${this.name}: ${String(e.message)}`)
        continue
      }
      if (this.#exitCode !== null) throw new Error(`${this.name} exited with code ${this.#exitCode} before '${event}'`)
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`${this.name}: timed out after ${Math.round(timeoutMs / 1000)} s waiting for '${event}'`)
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        timer = setTimeout(resolve, left)
      })
      clearTimeout(timer)
    }
  }

  /** Kills the process if it still runs and waits for it to go. */
  async stop(): Promise<void> {
    if (this.#exitCode === null) this.#proc.kill('SIGKILL')
    await this.#proc.exited
  }

  /** SIGTERM, so the child can close its connections; SIGKILL after `timeoutMs`. */
  async terminate(timeoutMs = 10000): Promise<void> {
    if (this.#exitCode === null) this.#proc.kill('SIGTERM')
    await this.finish(timeoutMs)
  }

  /**
   * CPU seconds (user + system) the process has used so far: from /proc while it runs, from its
   * resource usage once it has exited (0 in the instant between the two).
   */
  cpuSeconds(): number {
    const u = this.#proc.resourceUsage()
    if (u) return Number(u.cpuTime.user + u.cpuTime.system) / 1e6
    try {
      return procCpuSeconds(this.#proc.pid)
    } catch {
      return 0
    }
  }

  /** Waits for a normal exit for up to `timeoutMs`, then kills. */
  async finish(timeoutMs = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.#proc.exited, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
    await this.stop()
  }
}

/** The open-file limit asked for by `withManyFiles`. */
export const MANY_FILES = 65536

/**
 * Wraps a command so it runs with RLIMIT_NOFILE raised to MANY_FILES, or to the hard limit when
 * that is lower (an unprivileged or containerised user cannot go past it). `exec` keeps the pid.
 */
export function withManyFiles(cmd: readonly string[]): string[] {
  return ['bash', '-c', `ulimit -n ${MANY_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'bench', ...cmd]
}
