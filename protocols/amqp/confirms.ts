/**
 * Publisher confirms of one channel in confirm mode: hands out sequence numbers (from 1) and
 * turns the core's ascending `settled` / `rejected` batches into basic.ack / basic.nack frames,
 * using one `multiple=true` frame for the run of ids below the oldest still-unconfirmed one.
 *
 * @module
 */
import type { FrameWriter } from './codec/frame_writer.ts'

export class PublisherConfirms {
  #next = 1
  #unconfirmed = new Set<number>()
  /** Every id below this is confirmed; advanced lazily, so the total work is O(publishes). */
  #oldest = 1

  /** The sequence number of the publish being handled now. */
  next(): number {
    const id = this.#next++
    this.#unconfirmed.add(id)
    return id
  }

  get unconfirmedCount(): number {
    return this.#unconfirmed.size
  }

  /** Writes the frames confirming `ids` (ascending); `nack` for negative confirms. */
  write(writer: FrameWriter, channel: number, ids: readonly number[], nack: boolean): void {
    const unconfirmed = this.#unconfirmed
    for (let i = 0; i < ids.length; i++) unconfirmed.delete(ids[i]!)
    let oldest = this.#oldest
    while (oldest < this.#next && !unconfirmed.has(oldest)) oldest++
    this.#oldest = oldest
    // ids[0..covered) are all below the oldest unconfirmed id: one frame acknowledges them all.
    let covered = 0
    while (covered < ids.length && ids[covered]! < oldest) covered++
    if (covered > 0) this.#frame(writer, channel, ids[covered - 1]!, covered > 1, nack)
    for (let i = covered; i < ids.length; i++) this.#frame(writer, channel, ids[i]!, false, nack)
  }

  #frame(writer: FrameWriter, channel: number, deliveryTag: number, multiple: boolean, nack: boolean): void {
    if (nack) writer.writeMethod(channel, 'basic.nack', { deliveryTag, multiple, requeue: false })
    else writer.writeMethod(channel, 'basic.ack', { deliveryTag, multiple })
  }
}
