/**
 * Time-based expiry: per-message TTL (x-message-ttl and the `expiration` property) and queue
 * expiry (x-expires). Messages expire only at the head of their queue, as in RabbitMQ, so one
 * timer per queue suffices: it is armed for the head's deadline.
 *
 * @module
 */
import { preconditionFailed } from './errors.ts'

const MAX_EXPIRY = 4294967295

/**
 * Parses the `expiration` property as rabbit_basic:parse_expiration/1 does; returns ms, or -1
 * when absent. Throws precondition-failed with RabbitMQ's text when it is not a valid integer.
 */
export function parseExpiration(expiration: string | undefined): number {
  if (expiration === undefined) return -1
  // Erlang's string:to_integer/1: an optional sign and digits, the rest is "leftover".
  const match = /^[+-]?[0-9]+/.exec(expiration)
  let term: string
  if (match === null) {
    term = 'no_integer'
  } else if (match[0].length !== expiration.length) {
    term = `{leftover_string,"${expiration.slice(match[0].length)}"}`
  } else {
    const n = Number(match[0])
    if (n < 0) term = `{value_negative,${n}}`
    else if (n > MAX_EXPIRY) term = `{value_too_large,${n}}`
    else return n
  }
  throw preconditionFailed(`invalid expiration '${expiration}': ${term}`)
}

/** The deadline of a message entering a queue: the smaller TTL wins; 0 = never. */
export function deadline(queueTtl: number, messageTtl: number, now: number): number {
  if (queueTtl < 0 && messageTtl < 0) return 0
  const ttl = queueTtl < 0 ? messageTtl : messageTtl < 0 ? queueTtl : Math.min(queueTtl, messageTtl)
  return now + ttl
}

type Handle = ReturnType<typeof setTimeout>

/** Lets a pending timer not keep the process alive (Bun/Node timers, Deno timer ids). */
function unref(handle: Handle): void {
  const h = handle as { unref?: () => void }
  if (typeof h.unref === 'function') h.unref()
}

/** A one-shot timer re-armed for the earliest requested time. */
export class Deadline {
  #handle: Handle | undefined
  #at = 0
  #fire: () => void

  constructor(fire: () => void) {
    this.#fire = () => {
      this.#handle = undefined
      this.#at = 0
      fire()
    }
  }

  /** Fires at `at` (epoch ms) unless already armed for an earlier time. */
  armAt(at: number): void {
    if (this.#handle !== undefined && this.#at <= at) return
    this.clear()
    this.#at = at
    this.#handle = setTimeout(this.#fire, Math.max(0, at - Date.now()))
    unref(this.#handle)
  }

  /** Fires `ms` from now, replacing any earlier arming. */
  restart(ms: number): void {
    this.clear()
    this.armAt(Date.now() + ms)
  }

  clear(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle)
    this.#handle = undefined
    this.#at = 0
  }
}
