/**
 * The runtime seam: picks the Bun or the `node:net` socket implementation once at startup and
 * exposes the few process helpers the rest of Warren needs. Everything here works the same on
 * Bun, Deno and Node (Deno through `node:process` and `node:os`).
 *
 * @module
 */
import { totalmem } from 'node:os'
import process from 'node:process'
import { listen as bunListen } from './bun.ts'
import { listen as nodeListen } from './node.ts'
import type { ListenFn } from './socket.ts'

export type { ListenFn, ListenOptions, Listener, Socket } from './socket.ts'

/** Which runtime this process runs on. */
export const runtimeName: 'bun' | 'deno' | 'node' =
  typeof Bun !== 'undefined' ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node'

const runtimeListen: ListenFn = runtimeName === 'bun' ? bunListen : nodeListen

/**
 * Listens on TCP with the fastest socket API of this runtime (Deno uses `node:net`). The default
 * host "::" is dual-stack (IPv4 and IPv6, so "localhost" works whichever address it resolves to);
 * on a machine without IPv6 it falls back to every IPv4 interface.
 */
export const listen: ListenFn = async (opts, onConnection) => {
  try {
    return await runtimeListen(opts, onConnection)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (opts.host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error
    return await runtimeListen({ ...opts, host: '0.0.0.0' }, onConnection)
  }
}

/** Physical memory of the machine, in bytes. */
export function totalMemory(): number {
  return totalmem()
}

/** Resident set size of this process, in bytes. */
export function rssBytes(): number {
  return process.memoryUsage().rss
}

/** Calls `fn` on each delivery of `signal`; returns a function that removes it. */
export function onSignal(signal: 'SIGINT' | 'SIGTERM', fn: () => void): () => void {
  process.on(signal, fn)
  return () => void process.off(signal, fn)
}

/** Ends the process with `code`. */
export function exit(code: number): never {
  return process.exit(code)
}
