/**
 * A message of a segment store that has a record in a segment file (persistent, or transient and
 * paged out): its place in the file, and its Message while that is in memory.
 *
 * @module
 */
import type { Message } from '../api.ts'
import type { Segment } from './segment.ts'
import type { AppendOptions, StoredMessage } from './store.ts'

/** Bytes of message bodies the segment stores of one data directory keep in memory. */
export class ResidentBudget {
  readonly limit: number
  used = 0

  constructor(limit: number) {
    this.limit = limit
  }
}

/** What an entry calls to read its message back. */
export interface EntryLoader {
  load(entry: DiskEntry): Message
}

const PERSISTED = 1
const READY = 2
const COUNTED = 4
const PAGE_OUT = 8
const TRANSIENT = 16
const PRIORITY_SHIFT = 8
/** `#bits` below this hold the flags and the priority; the record's length is `#bits / LOW`. */
const LOW = 0x10000

/**
 * A persistent message of a segment store. A million of these make a long backlog, so the
 * instance keeps eight fields (JSC rounds nine up to a 112-byte cell, eight fit in 80): the
 * flags, the priority and the record's length share one number (exact below 2^53, so any
 * length under 2^37 bytes).
 */
export class DiskEntry implements StoredMessage {
  readonly seq: number
  readonly size: number
  readonly expiresAt: number
  deliveryCount = 0
  /** The segment file holding the record; its `loader` reads it back. */
  readonly segment: Segment
  /** Where the record's frame starts in the segment file. */
  readonly offset: number
  /** The message while it is in memory. */
  resident: Message | undefined = undefined
  #bits: number

  constructor(seq: number, opts: AppendOptions, segment: Segment, offset: number, length: number) {
    this.seq = seq
    this.size = opts.size
    this.expiresAt = opts.expiresAt
    this.segment = segment
    this.offset = offset
    this.#bits = (READY | (opts.priority << PRIORITY_SHIFT)) + length * LOW
  }

  /** The length of the record's frame in the segment file. */
  get length(): number {
    return Math.floor(this.#bits / LOW)
  }

  get priority(): number {
    return (this.#bits % LOW) >>> PRIORITY_SHIFT
  }

  /** The message, read back from the segment when it is not in memory. */
  get message(): Message {
    return this.resident ?? this.segment.loader!.load(this)
  }

  /** On disk (fdatasync done). */
  get persisted(): boolean {
    return ((this.#bits % LOW) & PERSISTED) !== 0
  }
  set persisted(on: boolean) {
    this.#set(PERSISTED, on)
  }

  /** In the ready list (not delivered, or requeued). */
  get ready(): boolean {
    return ((this.#bits % LOW) & READY) !== 0
  }
  set ready(on: boolean) {
    this.#set(READY, on)
  }

  /** Its size is part of the budget's `used`. */
  get counted(): boolean {
    return ((this.#bits % LOW) & COUNTED) !== 0
  }
  set counted(on: boolean) {
    this.#set(COUNTED, on)
  }

  /** Over budget: drop the body once the record is written. */
  get pageOut(): boolean {
    return ((this.#bits % LOW) & PAGE_OUT) !== 0
  }
  set pageOut(on: boolean) {
    this.#set(PAGE_OUT, on)
  }

  /** A transient message written only to free memory: never synced, gone after a restart. */
  get transient(): boolean {
    return ((this.#bits % LOW) & TRANSIENT) !== 0
  }
  set transient(on: boolean) {
    this.#set(TRANSIENT, on)
  }

  #set(bit: number, on: boolean): void {
    const low = this.#bits % LOW
    this.#bits += (on ? low | bit : low & ~bit) - low
  }
}
