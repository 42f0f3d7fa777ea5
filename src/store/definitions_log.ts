/**
 * The definitions log: `<dataDir>/definitions.log`, one framed JSON record (frame.ts) per
 * change to a durable definition. A change is written to the kernel before the command that
 * made it returns (so a kill -9 right after a declare-ok cannot lose it) and reaches the disk
 * with the next group-commit fsync, before any publisher confirm that depends on it.
 *
 * On open the log is replayed, then compacted: the model's snapshot is written to a temp file,
 * fsynced and renamed over the log. A running broker compacts the same way once the log has
 * grown well past its last snapshot.
 *
 * @module
 */
import type { VhostMetadata } from '../api.ts'
import type { Permission } from '../auth/permissions.ts'
import type { TopicPermission } from '../auth/topic_permissions.ts'
import type { UserRecord } from '../auth/users.ts'
import type { Policy } from '../core/policy.ts'
import { log } from '../log.ts'
import { appendAll, closeFile, openAppend, readWhole, renameFile, replaceFile, syncFileNow } from '../runtime/fs.ts'
import { type BindingFacts, type DefinitionsObserver, type ExchangeFacts, isSystemExchange, type QueueFacts } from './definitions_observer.ts'
import { type DefinitionRecord, DefinitionsModel } from './definitions_model.ts'
import { tableFromJson, tableToJson } from './field_json.ts'
import { frame, scanFrames } from './frame.ts'
import type { CommitMember, GroupCommit } from './group_commit.ts'
import { report } from './segment_recovery.ts'

/** Compact once the log is this many times its last snapshot (and past COMPACT_MIN_BYTES). */
const COMPACT_FACTOR = 4
const COMPACT_MIN_BYTES = 1024 * 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class DefinitionsLog implements DefinitionsObserver, CommitMember {
  readonly model: DefinitionsModel
  /** True when the directory held no definitions (first start): the broker adds its defaults. */
  readonly fresh: boolean
  /**
   * The log had damage in its middle: some definitions may be missing, so queues without one
   * keep their message directories (nothing is deleted that a repaired log could still need).
   */
  damaged = false
  /** While true, changes are not recorded (the broker is restoring what the log holds). */
  muted = false
  readonly #path: string
  readonly #commit: GroupCommit
  #fd: number | undefined
  /** The descriptor a running sync round uses; a compaction closes the old file only after it. */
  #syncingFd: number | undefined
  #retiredFd: number | undefined
  #bytes = 0
  #snapshotBytes = 0
  #dirty = false
  #failed = false

  constructor(path: string, commit: GroupCommit) {
    this.#path = path
    this.#commit = commit
    this.model = new DefinitionsModel()
    this.#replay()
    this.fresh = this.model.empty
    this.#compact()
  }

  // ---- DefinitionsObserver ----

  vhostChanged(name: string, metadata: VhostMetadata): void {
    this.#record({ op: 'vhost', name, metadata: { ...metadata, tags: [...metadata.tags] } })
  }

  vhostRemoved(name: string): void {
    this.#record({ op: 'vhost-delete', name })
  }

  userChanged(name: string, user: UserRecord | undefined): void {
    this.#record(user === undefined ? { op: 'user-delete', name } : { op: 'user', user: { ...user, tags: [...user.tags] } })
  }

  permissionChanged(vhost: string, user: string, p: Permission | undefined): void {
    this.#record(p === undefined ? { op: 'permission-delete', vhost, user } : { op: 'permission', vhost, user, ...p })
  }

  topicPermissionChanged(vhost: string, user: string, exchange: string, p: TopicPermission | undefined): void {
    this.#record(
      p === undefined
        ? { op: 'topic-permission-delete', vhost, user, exchange }
        : { op: 'topic-permission', vhost, user, exchange, write: p.write, read: p.read },
    )
  }

  exchangeAdded(vhost: string, x: ExchangeFacts): void {
    if (!x.durable || isSystemExchange(x.name)) return
    this.#record({ op: 'exchange', vhost, name: x.name, type: x.type, autoDelete: x.autoDelete, internal: x.internal, args: x.args })
  }

  exchangeRemoved(vhost: string, x: ExchangeFacts): void {
    if (!x.durable || isSystemExchange(x.name)) return
    this.#record({ op: 'exchange-delete', vhost, name: x.name })
  }

  queueAdded(vhost: string, q: QueueFacts): void {
    if (!q.durable) return
    this.#record({ op: 'queue', vhost, name: q.name, autoDelete: q.autoDelete, args: q.args })
  }

  queueRemoved(vhost: string, q: QueueFacts): void {
    if (!q.durable) return
    this.#record({ op: 'queue-delete', vhost, name: q.name })
  }

  bindingChanged(vhost: string, added: boolean, b: BindingFacts): void {
    // RabbitMQ: a binding is durable when both its ends are.
    if (!b.source.durable || !b.destination.durable) return
    this.#record({
      op: added ? 'binding' : 'binding-delete',
      vhost,
      source: b.source.name,
      destination: b.destination.name,
      destinationKind: b.destination.kind,
      routingKey: b.routingKey,
      args: b.args,
    })
  }

  policyChanged(vhost: string, name: string, p: Policy | undefined): void {
    if (p === undefined) return this.#record({ op: 'policy-delete', vhost, name })
    this.#record({ op: 'policy', vhost, name, pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: p.definition })
  }

  // ---- CommitMember ----

  writeOut(): void {}

  beginSync(fds: number[]): void {
    if (this.#dirty && this.#fd !== undefined) {
      fds.push(this.#fd)
      this.#syncingFd = this.#fd
    }
    this.#dirty = false
  }

  endSync(): void {
    this.#syncingFd = undefined
    if (this.#retiredFd !== undefined) closeFile(this.#retiredFd)
    this.#retiredFd = undefined
  }

  /** Syncs and closes the file (shutdown). */
  close(): void {
    if (this.#fd === undefined) return
    syncFileNow(this.#fd)
    closeFile(this.#fd)
    this.#fd = undefined
  }

  #record(r: DefinitionRecord): void {
    if (this.muted) return
    this.model.apply(r)
    if (this.#fd === undefined) return
    try {
      this.#bytes += appendAll(this.#fd, [frame(encodeRecord(r))])
      this.#failed = false
    } catch (error) {
      // The change is live but not durable; the next compaction writes the whole model again.
      this.#failed = true
      log.once('store.definitions', 'error', 'Cannot write a definition change', { file: this.#path, error: String(error) })
    }
    this.#dirty = true
    this.#commit.requestSync(this)
    if (this.#failed || this.#bytes > Math.max(COMPACT_MIN_BYTES, COMPACT_FACTOR * this.#snapshotBytes)) this.#tryCompact()
  }

  #replay(): void {
    const buf = readWhole(this.#path)
    if (buf === undefined) return
    const unreadable: number[] = []
    const result = scanFrames(buf, 0, (payload, offset) => {
      let r: DefinitionRecord
      try {
        r = decodeRecord(payload)
      } catch {
        unreadable.push(offset)
        return
      }
      this.model.apply(r)
    })
    const corrupt = result.problems.filter((p) => p.kind === 'corrupt')
    if (unreadable.length === 0 && corrupt.length === 0) {
      report(this.#path, result.problems, result.end)
      return
    }
    // Compaction rewrites the file from what was readable: keep the damaged one for inspection.
    this.damaged = true
    const copy = `${this.#path}.corrupt-${Date.now()}`
    renameFile(this.#path, copy)
    log.error('Corrupt definitions file: unreadable records skipped, everything else restored; the damaged file is kept', {
      file: this.#path,
      offsets: [...corrupt.map((p) => p.offset), ...unreadable].join(','),
      kept: copy,
    })
  }

  #tryCompact(): void {
    try {
      this.#compact()
      this.#failed = false
    } catch (error) {
      log.once('store.definitions', 'error', 'Cannot compact the definitions file', { file: this.#path, error: String(error) })
    }
  }

  /** Rewrites the log as the model's snapshot (atomic replace) and reopens it for appending. */
  /** Closes the current file now, or after the sync round that is using it. */
  #retire(): void {
    const fd = this.#fd
    this.#fd = undefined
    if (fd === undefined) return
    if (fd === this.#syncingFd) this.#retiredFd = fd
    else closeFile(fd)
  }

  #compact(): void {
    const chunks: Uint8Array[] = []
    let bytes = 0
    for (const r of this.model.snapshot()) {
      const f = frame(encodeRecord(r))
      chunks.push(f)
      bytes += f.byteLength
    }
    this.#retire()
    replaceFile(this.#path, chunks)
    this.#fd = openAppend(this.#path)
    this.#bytes = this.#snapshotBytes = bytes
  }
}

function encodeRecord(r: DefinitionRecord): Uint8Array {
  const json = 'args' in r ? { ...r, args: tableToJson(r.args) } : r
  return encoder.encode(JSON.stringify(json))
}

function decodeRecord(payload: Uint8Array): DefinitionRecord {
  const r = JSON.parse(decoder.decode(payload)) as DefinitionRecord
  if (typeof r !== 'object' || r === null || typeof r.op !== 'string') throw new TypeError('not a definitions record')
  if ('args' in r) r.args = tableFromJson(r.args)
  return r
}
