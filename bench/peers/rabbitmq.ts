/**
 * Starts RabbitMQ through bench/peers/rabbitmq.sh (Debian's package, a throwaway node on
 * 127.0.0.1:5673). Benchmarks only: tests and CI never start RabbitMQ.
 *
 * @module
 */

import { readFileSync } from 'node:fs'
import type { BrokerHandle } from './broker.ts'

const PID_FILE = `${process.env.BENCH_RABBITMQ_DIR ?? '/tmp/warren-bench-rabbitmq'}/beam.pid`

const SCRIPT = new URL('./rabbitmq.sh', import.meta.url).pathname

async function script(cmd: 'start' | 'stop' | 'version' | 'kill9' | 'respawn'): Promise<string> {
  const proc = Bun.spawn(['sh', SCRIPT, cmd], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`rabbitmq.sh ${cmd} failed (${code}): ${err.trim() || out.trim()}`)
  return out.trim()
}

export async function startRabbitMQ(): Promise<BrokerHandle> {
  const line = await script('start')
  const m = /amqp ([\d.]+):(\d+) pid (\d+) (.*)$/.exec(line)
  if (!m) throw new Error(`Unexpected rabbitmq.sh output: ${line}`)
  return {
    name: 'RabbitMQ',
    host: m[1]!,
    port: Number(m[2]),
    // After a respawn the node writes a new pid file early in its boot.
    get pid() {
      try {
        return Number(readFileSync(PID_FILE, 'utf8').trim())
      } catch {
        return Number(m[3])
      }
    },
    version: m[4]!,
    stop: async () => {
      await script('stop')
    },
    killAndRestart: async () => {
      await script('kill9')
      const spawnedAt = performance.now()
      await script('respawn')
      return { spawnedAt }
    },
  }
}
