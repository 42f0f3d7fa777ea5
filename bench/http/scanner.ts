/**
 * Finds a fixed byte pattern in a stream that arrives in slices, without joining the slices: a
 * match split across two reads is found by looking at the few carried-over bytes of the previous
 * slice plus the first bytes of the next one. Used to count Server-Sent Events (`\nid:` starts
 * every message event) and to pick send timestamps out of their payloads, with no JSON parsing.
 *
 * @module
 */

/**
 * Called per match with the `tail` bytes that follow the pattern at `buf[at, at + tail)`: valid
 * only during the call.
 */
export type MatchHandler = (buf: Uint8Array, at: number) => void

export class StreamScanner {
  readonly #pattern: Buffer
  /** Bytes that must follow the pattern before a match is reported. */
  readonly #tail: number
  /** Pattern plus tail: the bytes a reported match spans. */
  readonly #need: number
  /** The last `need - 1` bytes seen (fewer at the start): where a split match can begin. */
  #carry: Buffer
  #carryLen = 0
  /** Scratch for carry + the head of the next slice. */
  #joined: Buffer

  constructor(pattern: string, tail = 0) {
    this.#pattern = Buffer.from(pattern, 'latin1')
    this.#tail = tail
    this.#need = this.#pattern.length + tail
    this.#carry = Buffer.alloc(this.#need)
    this.#joined = Buffer.alloc(2 * this.#need)
  }

  /** Scans `buf[start, end)`; returns the number of matches reported. */
  scan(buf: Uint8Array, start: number, end: number, onMatch?: MatchHandler): number {
    const need = this.#need
    const p = this.#pattern
    const n = end - start
    let found = 0
    const c = this.#carryLen
    if (c > 0) {
      // Matches that begin in the carried bytes: look in carry + the next need-1 bytes.
      const head = Math.min(n, need - 1)
      const joined = this.#joined
      this.#carry.copy(joined, 0, 0, c)
      joined.set(buf.subarray(start, start + head), c)
      const len = c + head
      for (let i = 0; i < c && i + need <= len; i++) {
        if (matchesAt(joined, i, p)) {
          found++
          onMatch?.(joined, i + p.length)
        }
      }
    }
    // Matches inside the slice; one that does not fit yet lies within the new carry.
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    for (let i = b.indexOf(p, start); i >= 0 && i + need <= end; i = b.indexOf(p, i + 1)) {
      found++
      onMatch?.(b, i + p.length)
    }
    // Keep the last need-1 bytes of carry + slice.
    const keep = need - 1
    if (n >= keep) {
      b.copy(this.#carry, 0, end - keep, end)
      this.#carryLen = keep
    } else {
      const total = c + n
      const drop = Math.max(0, total - keep)
      // Shift what stays of the old carry to the front, then append the slice.
      this.#carry.copy(this.#carry, 0, drop, c)
      const kept = c - drop
      b.copy(this.#carry, kept, start, end)
      this.#carryLen = kept + n
    }
    return found
  }

  /** Forgets the carried bytes (a new stream starts). */
  reset(): void {
    this.#carryLen = 0
  }
}

function matchesAt(buf: Uint8Array, at: number, p: Uint8Array): boolean {
  for (let k = 0; k < p.length; k++) if (buf[at + k] !== p[k]) return false
  return true
}

/** Reads `digits` ASCII decimal digits at `buf[at]`; NaN if one is not a digit. */
export function readDigits(buf: Uint8Array, at: number, digits: number): number {
  let v = 0
  for (let k = 0; k < digits; k++) {
    const d = buf[at + k]! - 0x30
    if (d < 0 || d > 9) return Number.NaN
    v = v * 10 + d
  }
  return v
}
