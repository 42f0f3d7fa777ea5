/**
 * The durable part of queue streams (queue_lease.ts), so a stream outlives the broker: after a
 * restart (kill -9 included) or a forced close, an EventSource reconnecting with its Last-Event-ID
 * resumes the same stream, and in auto mode what it had received is confirmed rather than sent
 * again.
 *
 * One key-value record per stream (namespace `http.sse-streams`, key = stream id), JSON:
 * `{user, vhost, queue, ack, prefetch, enc, last, out, skip}`:
 * - `last`: the highest event number sent. A resumed stream numbers on from `last + ID_RESERVE`,
 *   so no id is ever reused even when the record lags the last events sent.
 * - `out`: `[n, key]` per unconfirmed delivery of a message that survives a restart (persistent,
 *   on a durable queue): its event number and its durable key (api Delivery.durableKey).
 * - `skip`: durable keys confirmed by the client whose messages have not come back since the
 *   restart; they are acknowledged without being sent when they do.
 *
 * A stream writes its record before the events it describes go out, so a kill -9 after the client
 * saw them keeps them (the write is in the kernel; the fsync is grouped). A record that lags (an
 * OS crash) only makes some messages come again, marked redelivered: never one lost.
 *
 * Streams closed by the broker (shutdown, management close) keep their record and wait, dormant,
 * `resumeTimeoutMs` for their client; so do all records found at start. Then they are forgotten.
 *
 * @module
 */
import { z } from 'zod'
import type { KeyValueStore } from '../../../src/api.ts'
import { log } from '../../../src/log.ts'

export const STREAMS_NAMESPACE = 'http.sse-streams'

/** How far past a record's `last` a resumed stream starts numbering. */
export const ID_RESERVE = 1_000_000

const recordSchema = z.object({
  user: z.string(),
  vhost: z.string(),
  queue: z.string(),
  ack: z.enum(['auto', 'explicit']),
  prefetch: z.number().int().min(1),
  enc: z.enum(['auto', 'base64']),
  last: z.number().int().min(0),
  out: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
  skip: z.array(z.number().int().min(0)),
})

export type StreamRecord = z.infer<typeof recordSchema> & { readonly id: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface Dormant {
  record: StreamRecord
  timer: ReturnType<typeof setTimeout>
}

export class StreamRecords {
  readonly #resumeTimeoutMs: number
  #kv: KeyValueStore | undefined
  readonly #dormant = new Map<string, Dormant>()

  constructor(resumeTimeoutMs: number) {
    this.#resumeTimeoutMs = resumeTimeoutMs
  }

  /**
   * Attaches the key-value namespace (from the first queue stream's connection; adapters reach
   * durable state only through a connection). Every record found then is dormant.
   */
  open(kv: KeyValueStore): void {
    if (this.#kv !== undefined) return
    this.#kv = kv
    for (const [id, bytes] of kv.entries()) {
      const record = decode(id, bytes)
      if (record === undefined) void kv.set(id, null)
      else this.#sleep(record)
    }
  }

  save(record: StreamRecord): void {
    const { id, ...fields } = record
    void this.#kv?.set(id, encoder.encode(JSON.stringify(fields)))
  }

  /** The stream ended for good (expired, queue deleted): its record goes. */
  forget(id: string): void {
    this.#wake(id)
    void this.#kv?.set(id, null)
  }

  /** The broker closed the stream: keep `record` for a resume within the resume timeout. */
  retire(record: StreamRecord): void {
    this.save(record)
    this.#sleep(record)
  }

  /** Takes the dormant record `id` when it belongs to this user, vhost and queue. */
  resume(id: string, user: string, vhost: string, queue: string): StreamRecord | undefined {
    const record = this.#dormant.get(id)?.record
    if (record === undefined || record.user !== user || record.vhost !== vhost || record.queue !== queue) return undefined
    this.#wake(id)
    return record
  }

  #sleep(record: StreamRecord): void {
    this.#wake(record.id)
    const timer = setTimeout(() => this.forget(record.id), this.#resumeTimeoutMs)
    // A dormant stream must not keep a stopping process alive.
    ;(timer as { unref?: () => void }).unref?.()
    this.#dormant.set(record.id, { record, timer })
  }

  #wake(id: string): void {
    const dormant = this.#dormant.get(id)
    if (dormant === undefined) return
    clearTimeout(dormant.timer)
    this.#dormant.delete(id)
  }
}

function decode(id: string, bytes: Uint8Array): StreamRecord | undefined {
  try {
    return { id, ...recordSchema.parse(JSON.parse(decoder.decode(bytes))) }
  } catch (error) {
    log.warn('Dropping an unreadable SSE stream record', { stream: id, error: String(error) })
    return undefined
  }
}
