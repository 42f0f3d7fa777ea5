/**
 * The ready and outstanding counts and body bytes of one queue's store: the bookkeeping every
 * MessageStore keeps the same way, whatever holds the messages themselves.
 *
 * @module
 */

export class StoreCounts {
  readyCount = 0
  readyBytes = 0
  outstandingCount = 0
  outstandingBytes = 0

  /** A message joined the ready list. */
  added(size: number): void {
    this.readyCount++
    this.readyBytes += size
  }

  /** A ready message was handed out. */
  taken(size: number): void {
    this.readyCount--
    this.readyBytes -= size
    this.outstandingCount++
    this.outstandingBytes += size
  }

  /** An outstanding message went back to the ready list. */
  returned(size: number): void {
    this.outstandingCount--
    this.outstandingBytes -= size
    this.readyCount++
    this.readyBytes += size
  }

  /** An outstanding message is gone for good. */
  settled(size: number): void {
    this.outstandingCount--
    this.outstandingBytes -= size
  }

  /** Every ready message was dropped; returns how many there were. */
  clearReady(): number {
    const count = this.readyCount
    this.readyCount = 0
    this.readyBytes = 0
    return count
  }

  clearAll(): void {
    this.clearReady()
    this.outstandingCount = 0
    this.outstandingBytes = 0
  }
}
