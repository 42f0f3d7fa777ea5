/**
 * What the runner needs from a broker under test.
 *
 * @module
 */

import { readFileSync } from 'node:fs'

export interface BrokerHandle {
  /** Column name in the table. */
  readonly name: string
  readonly host: string
  /** The AMQP port (0 for a broker without AMQP, such as Mosquitto). */
  readonly port: number
  /** The MQTT port, for brokers that speak MQTT. */
  readonly mqttPort?: number
  /** The HTTP API port (management, HTTP publish, SSE), for brokers that serve one here. */
  readonly httpPort?: number
  /** The process whose RSS is measured (Warren's bun process, RabbitMQ's beam.smp). */
  readonly pid: number
  readonly version: string
  stop(): Promise<void>
  /**
   * Crash and recovery (issue 5): SIGKILL the broker, then start it again on the same data
   * directory. Resolves with `spawnedAt` (performance.now() just before the new process was
   * spawned) and, for a broker that prints a ready line after recovery (Warren), `readyAt`; for
   * RabbitMQ it resolves right after the spawn and the caller polls until the queue answers.
   * `host`, `port` and `pid` describe the new process afterwards.
   */
  killAndRestart?(): Promise<{ spawnedAt: number; readyAt?: number }>
}

/**
 * MQTT settings both brokers get (BENCH_MQTT_INFLIGHT overrides the in-flight window for both), so that neither QoS 1 nor a fast publisher is limited by a
 * default the other broker does not have (see BENCHMARKS.md, "MQTT").
 */
export const MQTT_SETTINGS = {
  /**
   * QoS 1 deliveries in flight per subscriber: Mosquitto max_inflight_messages (default 20),
   * Warren mqttReceiveMaximum (default 256). Both get Warren's default; Mosquitto showed no clear
   * preference between 20, 100, 256 and 1000 (BENCHMARKS.md).
   */
  inflight: Number(process.env.BENCH_MQTT_INFLIGHT ?? 256),
  /** Queued messages per subscriber: Mosquitto max_queued_messages 0 = no limit (default 1000), Warren mqttSessionQueueLimit (default 10,000). */
  warrenSessionQueueLimit: 100_000_000,
  /**
   * Warren's sseLiveQueueLimit (default 10,000, oldest dropped beyond it): a live SSE
   * subscription's queue gets the same room as an MQTT session, so the fan-out rows compare
   * delivery speed, not drop policies.
   */
  warrenSseLiveQueueLimit: 100_000_000,
} as const

/** VmRSS of `pid` in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (!m) throw new Error(`No VmRSS in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}

/** User + system CPU seconds used so far by `pid`, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Busy CPU seconds of the whole machine so far (every state but idle and iowait), from
 * /proc/stat: compared with the broker's and the clients' own time it shows how much CPU other
 * processes took during a run.
 */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal …
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu
  return (user + nice + system + irq + softirq + steal) / 100
}

/**
 * Bytes `pid` has caused to be written to storage so far (/proc/<pid>/io write_bytes): shows
 * whether a "persistent" row really reached the disk.
 */
export function storageWriteBytes(pid: number): number {
  const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
  return m ? Number(m[1]) : Number.NaN
}
