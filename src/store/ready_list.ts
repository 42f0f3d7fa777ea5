/**
 * The ready messages of one queue in delivery order: one ring buffer per priority level, each
 * ordered by enqueue sequence. Shared by the memory and the segment store; counting is theirs.
 *
 * @module
 */
import { Deque } from './deque.ts'
import type { StoredMessage } from './store.ts'

export class ReadyList<E extends StoredMessage = StoredMessage> {
  /** Index = priority; a queue without x-max-priority has one level. */
  readonly levels: Deque<E>[] = []

  constructor(maxPriority = 0) {
    for (let i = 0; i <= maxPriority; i++) this.levels.push(new Deque<E>())
  }

  push(entry: E): void {
    this.level(entry.priority).push(entry)
  }

  /** The level holding the next message, or undefined when all are empty. */
  headLevel(): Deque<E> | undefined {
    const levels = this.levels
    for (let i = levels.length - 1; i >= 0; i--) if (levels[i]!.length !== 0) return levels[i]
    return undefined
  }

  /** Puts a message back at its place by sequence (usually the head). */
  insert(entry: E): void {
    const level = this.level(entry.priority)
    const head = level.peek()
    if (head === undefined || entry.seq < head.seq) return level.unshift(entry)
    if (entry.seq > level.last()!.seq) return level.push(entry)
    let lo = 0
    let hi = level.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (level.at(mid)!.seq < entry.seq) lo = mid + 1
      else hi = mid
    }
    level.insertAt(lo, entry)
  }

  /** Every ready entry, level by level (for purge and close). */
  *all(): Generator<E> {
    for (const level of this.levels) for (let i = 0; i < level.length; i++) yield level.at(i)!
  }

  clear(): void {
    for (const level of this.levels) level.clear()
  }

  level(priority: number): Deque<E> {
    const levels = this.levels
    return levels[priority < levels.length ? priority : levels.length - 1]!
  }
}
