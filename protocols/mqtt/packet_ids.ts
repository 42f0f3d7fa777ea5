/**
 * The server's outbound QoS 1/2 packet identifiers (1..65535) and the core delivery each one
 * carries, so PUBACK / PUBREC / PUBCOMP settle the right delivery. A retained message sent on
 * subscribe has no core delivery (delivery id 0).
 *
 * One Map of numbers, no object per message: the value packs the delivery id with two state bits.
 *
 * @module
 */

const MAX_ID = 65535
const QOS2 = 1
const RELEASED = 2

/** What one in-flight packet id stands for. */
export interface InFlight {
  /** Core delivery id; 0 for a message that did not come from a core queue. */
  deliveryId: number
  qos: 1 | 2
  /** QoS 2 only: PUBREC came and PUBREL went out; waiting for PUBCOMP. */
  released: boolean
}

export class PacketIds {
  #byId = new Map<number, number>()
  #next = 1

  /** Packet ids in use. */
  get size(): number {
    return this.#byId.size
  }

  /** Where the next allocation starts looking: carried over to a resumed session's connection. */
  get next(): number {
    return this.#next
  }
  set next(id: number) {
    this.#next = id >= 1 && id <= MAX_ID ? id : 1
  }

  /**
   * Takes a free id for `deliveryId`, or returns 0 when all 65535 are in flight (the caller's
   * flow control makes that impossible in practice: prefetch is at most the Receive Maximum).
   */
  allocate(deliveryId: number, qos: 1 | 2): number {
    const ids = this.#byId
    if (ids.size >= MAX_ID) return 0
    let id = this.#next
    // Bounded: at most MAX_ID probes, and a free id exists.
    while (ids.has(id)) id = id === MAX_ID ? 1 : id + 1
    this.#next = id === MAX_ID ? 1 : id + 1
    ids.set(id, deliveryId * 4 + (qos === 2 ? QOS2 : 0))
    return id
  }

  /** Takes `id` for `deliveryId` when it is free (a resent message keeps its id), else any free id. */
  allocateAt(id: number, deliveryId: number, qos: 1 | 2): number {
    if (this.#byId.has(id)) return this.allocate(deliveryId, qos)
    this.#byId.set(id, deliveryId * 4 + (qos === 2 ? QOS2 : 0))
    return id
  }

  /** A QoS 2 id whose PUBREL went out on an earlier connection of the session (no core delivery). */
  restoreReleased(id: number): void {
    this.#byId.set(id, QOS2 | RELEASED)
  }

  /** Every id in flight with what it stands for. */
  *entries(): Iterable<[number, InFlight]> {
    for (const id of this.#byId.keys()) yield [id, this.get(id)!]
  }

  get(id: number): InFlight | undefined {
    const v = this.#byId.get(id)
    if (v === undefined) return undefined
    return { deliveryId: Math.floor(v / 4), qos: v & QOS2 ? 2 : 1, released: (v & RELEASED) !== 0 }
  }

  /** The delivery id behind a QoS 1/2 id when the client acknowledges it; -1 when unknown. */
  take(id: number): number {
    const v = this.#byId.get(id)
    if (v === undefined) return -1
    this.#byId.delete(id)
    return Math.floor(v / 4)
  }

  /** QoS 2: PUBREC arrived and PUBREL is going out. False when the id is not a QoS 2 in flight. */
  release(id: number): boolean {
    const v = this.#byId.get(id)
    if (v === undefined || (v & QOS2) === 0) return false
    this.#byId.set(id, v | RELEASED)
    return true
  }

  /** Core delivery ids whose QoS 2 exchange reached PUBREL: the client has those messages. */
  releasedDeliveries(): number[] {
    const out: number[] = []
    for (const v of this.#byId.values()) if (v & RELEASED && v >= 4) out.push(Math.floor(v / 4))
    return out
  }

  clear(): void {
    this.#byId.clear()
  }
}
