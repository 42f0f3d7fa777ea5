/**
 * Starts Mosquitto through bench/peers/mosquitto.sh (Debian's package, a generated config, a
 * free port on 127.0.0.1). Benchmarks only: tests and CI never start Mosquitto.
 *
 * @module
 */

import { type BrokerHandle, MQTT_SETTINGS } from './broker.ts'

const SCRIPT = new URL('./mosquitto.sh', import.meta.url).pathname

async function script(args: string[]): Promise<string> {
  const env = { ...process.env, BENCH_MQTT_INFLIGHT: String(MQTT_SETTINGS.inflight) }
  const proc = Bun.spawn(['sh', SCRIPT, ...args], { env, stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`mosquitto.sh ${args[0]} failed (${code}): ${err.trim() || out.trim()}`)
  return out.trim()
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel's pick for port 0). */
function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

export async function startMosquitto(): Promise<BrokerHandle> {
  const line = await script(['start', String(freePort())])
  const m = /mqtt ([\d.]+):(\d+) pid (\d+) (.*)$/.exec(line)
  if (!m) throw new Error(`Unexpected mosquitto.sh output: ${line}`)
  return {
    name: 'Mosquitto',
    host: m[1]!,
    port: 0,
    mqttPort: Number(m[2]),
    pid: Number(m[3]),
    version: m[4]!,
    stop: async () => {
      await script(['stop'])
    },
  }
}
