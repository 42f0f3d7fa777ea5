/**
 * A persistent message of a segment store: its place in a segment file, and its Message while
 * that is in memory.
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
const PRIORITY_SHIFT = 8

/**
 * A persistent message of a segment store. A million of these make a long backlog, so the
 * instance keeps nine fields: the flags and the priority share one number.
 */
export class DiskEntry implements StoredMessage {
  readonly seq: number
  readonly size: number
  readonly expiresAt: number
  deliveryCount = 0
  /** The segment file holding the record; its `loader` reads it back. */
  readonly segment: Segment
  /** Where the record's frame starts in the segment file, and its length. */
  readonly offset: number
  readonly length: number
  /** The message while it is in memory. */
  resident: Message | undefined = undefined
  #bits: number

  constructor(seq: number, opts: AppendOptions, segment: Segment, offset: number, length: number) {
    this.seq = seq
    this.size = opts.size
    this.expiresAt = opts.expiresAt
    this.segment = segment
    this.offset = offset
    this.length = length
    this.#bits = READY | (opts.priority << PRIORITY_SHIFT)
  }

  get priority(): number {
    return this.#bits >>> PRIORITY_SHIFT
  }

  /** The message, read back from the segment when it is not in memory. */
  get message(): Message {
    return this.resident ?? this.segment.loader!.load(this)
  }

  /** On disk (fdatasync done). */
  get persisted(): boolean {
    return (this.#bits & PERSISTED) !== 0
  }
  set persisted(on: boolean) {
    this.#set(PERSISTED, on)
  }

  /** In the ready list (not delivered, or requeued). */
  get ready(): boolean {
    return (this.#bits & READY) !== 0
  }
  set ready(on: boolean) {
    this.#set(READY, on)
  }

  /** Its size is part of the budget's `used`. */
  get counted(): boolean {
    return (this.#bits & COUNTED) !== 0
  }
  set counted(on: boolean) {
    this.#set(COUNTED, on)
  }

  /** Over budget: drop the body once the record is written. */
  get pageOut(): boolean {
    return (this.#bits & PAGE_OUT) !== 0
  }
  set pageOut(on: boolean) {
    this.#set(PAGE_OUT, on)
  }

  #set(bit: number, on: boolean): void {
    this.#bits = on ? this.#bits | bit : this.#bits & ~bit
  }
}
