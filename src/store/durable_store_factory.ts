/**
 * The StoreFactory of a data directory: durable queues get a SegmentStore in
 * `<dataDir>/queues/<sha1 of vhost and name>/`, every other queue a transient-only one in
 * `<dataDir>/transient/<n>/` (made only if it pages messages out; the whole `transient` folder
 * is emptied at start, as nothing in it outlives a broker).
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { log } from '../log.ts'
import { isDirectory, listDir, removeDir } from '../runtime/fs.ts'
import { SegmentStore, type SegmentStoreContext } from './segment_store.ts'
import type { MessageStore, StoreFactory, StoreHooks, StoreQueueInfo } from './store.ts'

/** A queue's directory name: hex SHA-1 of the vhost's byte length, ":", vhost, then name. */
export function queueDirName(vhost: string, name: string): string {
  return createHash('sha1').update(`${Buffer.byteLength(vhost)}:${vhost}${name}`).digest('hex')
}

export class DurableStoreFactory implements StoreFactory {
  readonly #root: string
  readonly #transientRoot: string
  readonly #ctx: SegmentStoreContext
  #transientQueues = 0

  /**
   * `root` is the data directory's `queues` folder, `transientRoot` its `transient` folder
   * (emptied here: what a previous broker paged out there is gone with it).
   */
  constructor(root: string, transientRoot: string, ctx: SegmentStoreContext) {
    this.#root = root
    this.#transientRoot = transientRoot
    this.#ctx = ctx
    removeDir(transientRoot)
  }

  create(queue: StoreQueueInfo, hooks: StoreHooks): MessageStore {
    if (!queue.durable) {
      const dir = join(this.#transientRoot, String(++this.#transientQueues))
      return new SegmentStore(dir, queue.maxPriority, hooks, this.#ctx, { transientOnly: true })
    }
    const dir = join(this.#root, queueDirName(queue.vhost, queue.name))
    return new SegmentStore(dir, queue.maxPriority, hooks, this.#ctx, { persistAll: queue.persistAll === true })
  }

  /**
   * Deletes the directories of queues that no longer exist (deleted while a crash kept the
   * broker from removing their messages). Call before the first `create`.
   */
  removeOrphans(queues: Iterable<{ vhost: string; name: string }>): void {
    const keep = new Set<string>()
    for (const q of queues) keep.add(queueDirName(q.vhost, q.name))
    for (const name of listDir(this.#root)) {
      const path = join(this.#root, name)
      if (keep.has(name) || !isDirectory(path)) continue
      log.info('Removing the messages of a deleted queue', { dir: path })
      removeDir(path)
    }
  }
}
