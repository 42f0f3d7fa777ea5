/**
 * Small numeric helpers shared by the bench rows.
 *
 * @module
 */

/** Nearest-rank percentile of an ascending-sorted sample; 0 for an empty sample. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/** Formats a rate or size for the table: 123456 -> "123,456", 12.345 -> "12.3". */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** Median of a sample (mean of the middle two for an even count); NaN for an empty sample. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Key-wise median of repeated runs (keys missing from a run are skipped for that run). */
export function medianOf(runs: readonly Record<string, number>[]): Record<string, number> {
  const keys = new Set(runs.flatMap((r) => Object.keys(r)))
  const out: Record<string, number> = {}
  for (const k of keys) out[k] = median(runs.flatMap((r) => (k in r ? [r[k]!] : [])))
  return out
}

/** Bucket width of LatencyHistogram, in ms (10 µs). */
export const HISTOGRAM_BUCKET_MS = 0.01

/**
 * Latency samples for many connections and processes at once: a sparse histogram of 10 µs
 * buckets (bucket index -> count), so a child process sends a few hundred pairs instead of every
 * sample, and the parent merges the processes' histograms exactly.
 */
export class LatencyHistogram {
  readonly #counts = new Map<number, number>()
  #total = 0

  get total(): number {
    return this.#total
  }

  record(ms: number): void {
    const b = Math.max(0, Math.floor(ms / HISTOGRAM_BUCKET_MS))
    this.#counts.set(b, (this.#counts.get(b) ?? 0) + 1)
    this.#total++
  }

  /** [bucket, count] pairs, for the parent. */
  pairs(): [number, number][] {
    return [...this.#counts]
  }

  /** Adds another histogram's pairs. */
  merge(pairs: readonly (readonly [number, number])[]): void {
    for (const [b, n] of pairs) {
      this.#counts.set(b, (this.#counts.get(b) ?? 0) + n)
      this.#total += n
    }
  }

  /**
   * Nearest-rank percentile, as the upper edge of its bucket (at most 10 µs above the exact
   * sample, never below it); 0 when empty.
   */
  percentile(p: number): number {
    if (this.#total === 0) return 0
    const rank = Math.min(this.#total, Math.max(1, Math.ceil((p / 100) * this.#total)))
    let seen = 0
    for (const b of [...this.#counts.keys()].sort((x, y) => x - y)) {
      seen += this.#counts.get(b)!
      if (seen >= rank) return (b + 1) * HISTOGRAM_BUCKET_MS
    }
    return 0
  }
}
