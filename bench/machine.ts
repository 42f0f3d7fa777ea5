/**
 * Describes the machine for BENCHMARKS.md: cores, CPU model, RAM, OS and runtime versions.
 *
 * @module
 */

import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

export interface MachineInfo {
  nproc: number
  cpu: string
  ramGiB: number
  os: string
  kernel: string
  bun: string
}

export function machineInfo(): MachineInfo {
  const osRelease = readText('/etc/os-release')
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? process.platform
  const model = /^model name\s*:\s*(.*)$/m.exec(readText('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: model.trim(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: pretty,
    kernel: readText('/proc/sys/kernel/osrelease').trim(),
    bun: Bun.version,
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
