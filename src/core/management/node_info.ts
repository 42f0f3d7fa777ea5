/**
 * Facts about this process for the management API's node view: processors and open file
 * descriptors. Read when asked (a management request), never on a timer; anything the platform
 * does not tell (file descriptors outside Linux, or without read access to /proc) is 0.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import process from 'node:process'

export function processId(): number {
  return process.pid
}

export function processorCount(): number {
  try {
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  } catch {
    return 0
  }
}

/** Open file descriptors of this process (Linux /proc), 0 when unknown. */
export function openFileDescriptors(): number {
  try {
    // The listing includes the descriptor readdir itself holds open.
    return Math.max(0, readdirSync('/proc/self/fd').length - 1)
  } catch {
    return 0
  }
}

/** The soft limit on open file descriptors (Linux /proc), 0 when unknown or unlimited. */
export function fileDescriptorLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
    const n = soft === undefined ? NaN : Number(soft)
    return Number.isSafeInteger(n) && n > 0 ? n : 0
  } catch {
    return 0
  }
}
