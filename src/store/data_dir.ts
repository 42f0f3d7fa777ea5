/**
 * The data directory (config.dataDir): everything that survives a restart, opened once at
 * start-up, before any listener accepts a client.
 *
 * ```
 * <dataDir>/warren.lock              pid of the broker using the directory
 * <dataDir>/definitions.log          durable vhosts, users, permissions, exchanges, queues, bindings
 * <dataDir>/kv/<hex namespace>.log   adapters' durable key-value state (MQTT sessions, retained)
 * <dataDir>/queues/<sha1>/           one durable queue's segments, ack logs and delivered mark
 * <dataDir>/transient/<n>/           messages of a non-durable queue paged out of memory (emptied at start)
 * ```
 *
 * The README's "Data directory" section documents the formats.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { join, resolve } from 'node:path'
import process from 'node:process'
import type { KeyValueStore } from '../api.ts'
import { log } from '../log.ts'
import { createExclusive, isDirectory, makeDir, readWhole, removeFile, syncDir } from '../runtime/fs.ts'
import { DefinitionsLog } from './definitions_log.ts'
import { ResidentBudget } from './disk_entry.ts'
import { DurableKeyValueStore } from './durable_key_value.ts'
import { DurableStoreFactory } from './durable_store_factory.ts'
import { GroupCommit } from './group_commit.ts'

export interface DataDirOptions {
  path: string
  /** Bytes of persistent message bodies kept in memory across durable queues; more are read back from disk. */
  memoryLimit?: number
  /** Bytes of transient message bodies kept in memory across queues; more are paged out to disk. */
  transientMemoryLimit?: number
  /** Size at which a queue starts a new segment file. */
  segmentBytes?: number
}

const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
const DEFAULT_TRANSIENT_MEMORY_LIMIT = 512 * 1024 * 1024
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024
const LOCK = 'warren.lock'

/** Directories this process has open (a second broker on one directory would corrupt it). */
const openHere = new Set<string>()

export class DataDir {
  readonly path: string
  readonly commit = new GroupCommit()
  readonly definitions: DefinitionsLog
  readonly storeFactory: DurableStoreFactory
  readonly #keyValues = new Map<string, DurableKeyValueStore>()
  #closed = false

  /** Locks and reads the directory (creating it). Throws when another broker has it open. */
  constructor(opts: DataDirOptions) {
    this.path = resolve(opts.path)
    makeDir(this.path)
    lock(this.path)
    try {
      this.definitions = new DefinitionsLog(join(this.path, 'definitions.log'), this.commit)
      this.storeFactory = new DurableStoreFactory(join(this.path, 'queues'), join(this.path, 'transient'), {
        commit: this.commit,
        budget: new ResidentBudget(opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT),
        transientBudget: new ResidentBudget(opts.transientMemoryLimit ?? DEFAULT_TRANSIENT_MEMORY_LIMIT),
        segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      })
    } catch (error) {
      unlock(this.path)
      throw error
    }
  }

  /** The durable key-value store of `namespace`, read from disk on first use. */
  keyValue(namespace: string): KeyValueStore {
    let store = this.#keyValues.get(namespace)
    if (store === undefined) {
      const dir = join(this.path, 'kv')
      if (!isDirectory(dir)) {
        makeDir(dir)
        syncDir(this.path)
      }
      store = new DurableKeyValueStore(join(dir, `${Buffer.from(namespace, 'utf8').toString('hex')}.log`), this.commit)
      this.#keyValues.set(namespace, store)
    }
    return store
  }

  /** Writes and syncs everything, closes the files, releases the lock. Call after the queues flushed. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.commit.drain()
      this.definitions.close()
      for (const store of this.#keyValues.values()) store.close()
    } finally {
      this.commit.close()
      unlock(this.path)
    }
  }
}

function lock(dir: string): void {
  const path = join(dir, LOCK)
  if (openHere.has(dir)) throw new Error(`Cannot open data directory "${dir}": this process has it open already`)
  const pid = new TextEncoder().encode(`${process.pid}\n`)
  // Bounded: one retry after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createExclusive(path, pid)) {
      openHere.add(dir)
      return
    }
    const holder = Number(new TextDecoder().decode(readWhole(path) ?? new Uint8Array()).trim())
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new Error(`Cannot open data directory "${dir}": it is in use by process ${holder} (${path})`)
    }
    // Left behind by a broker that was killed: take it over.
    log.debug('Removing a stale lock file', { file: path, pid: holder })
    removeFile(path)
  }
  throw new Error(`Cannot open data directory "${dir}": cannot create ${path}`)
}

function unlock(dir: string): void {
  if (!openHere.delete(dir)) return
  try {
    removeFile(join(dir, LOCK))
  } catch {
    // The directory may be gone already (a test cleaning up).
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM'
  }
  return !isZombie(pid)
}

/**
 * A broker killed with -9 stays a zombie until its parent reaps it, and signals still "reach"
 * a zombie; a supervisor restarting at once must not be refused for that. Linux only (/proc).
 */
function isZombie(pid: number): boolean {
  const stat = readWhole(`/proc/${pid}/stat`)
  if (stat === undefined) return false
  const text = new TextDecoder().decode(stat)
  // "pid (comm) S ...": the state follows the last ')' (comm may contain spaces and parens).
  return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) === 'Z'
}
