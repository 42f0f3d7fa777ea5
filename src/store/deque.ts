/**
 * A growable ring buffer: O(1) push, shift and unshift, so a queue draining a long backlog never
 * pays Array.prototype.shift's O(n).
 *
 * @module
 */
export class Deque<T> {
  #buf: (T | undefined)[]
  #head = 0
  #size = 0

  constructor(capacity = 16) {
    let cap = 16
    while (cap < capacity) cap *= 2
    this.#buf = new Array<T | undefined>(cap)
  }

  get length(): number {
    return this.#size
  }

  /** The i-th element from the head (0 = head). */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.#size) return undefined
    return this.#buf[(this.#head + i) & (this.#buf.length - 1)]
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#buf[this.#head]
  }

  last(): T | undefined {
    return this.#size === 0 ? undefined : this.#buf[(this.#head + this.#size - 1) & (this.#buf.length - 1)]
  }

  push(value: T): void {
    if (this.#size === this.#buf.length) this.#grow()
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = value
    this.#size++
  }

  unshift(value: T): void {
    if (this.#size === this.#buf.length) this.#grow()
    this.#head = (this.#head - 1) & (this.#buf.length - 1)
    this.#buf[this.#head] = value
    this.#size++
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined
    const value = this.#buf[this.#head]
    this.#buf[this.#head] = undefined
    this.#head = (this.#head + 1) & (this.#buf.length - 1)
    this.#size--
    return value
  }

  /** Inserts before the i-th element (0 <= i <= length), moving the tail: O(length - i). */
  insertAt(i: number, value: T): void {
    if (i <= 0) return this.unshift(value)
    if (i >= this.#size) return this.push(value)
    if (this.#size === this.#buf.length) this.#grow()
    const mask = this.#buf.length - 1
    for (let j = this.#size; j > i; j--) {
      this.#buf[(this.#head + j) & mask] = this.#buf[(this.#head + j - 1) & mask]
    }
    this.#buf[(this.#head + i) & mask] = value
    this.#size++
  }

  clear(): void {
    this.#buf = new Array<T | undefined>(16)
    this.#head = 0
    this.#size = 0
  }

  #grow(): void {
    const old = this.#buf
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & (old.length - 1)]
    this.#buf = next
    this.#head = 0
  }
}
