import { describe, expect, test } from 'bun:test'
import { PacketIds } from './packet_ids.ts'

describe('PacketIds', () => {
  test('allocates increasing non-zero ids and maps them to deliveries', () => {
    const ids = new PacketIds()
    expect(ids.allocate(10, 1)).toBe(1)
    expect(ids.allocate(11, 2)).toBe(2)
    expect(ids.get(1)).toEqual({ deliveryId: 10, qos: 1, released: false })
    expect(ids.get(2)).toEqual({ deliveryId: 11, qos: 2, released: false })
    expect(ids.size).toBe(2)
  })

  test('take returns the delivery and frees the id; unknown ids give -1', () => {
    const ids = new PacketIds()
    const id = ids.allocate(7, 1)
    expect(ids.take(id)).toBe(7)
    expect(ids.take(id)).toBe(-1)
    expect(ids.size).toBe(0)
  })

  test('delivery id 0 (a retained message) round-trips', () => {
    const ids = new PacketIds()
    const id = ids.allocate(0, 1)
    expect(ids.take(id)).toBe(0)
  })

  test('release marks QoS 2 only, and released deliveries are listed', () => {
    const ids = new PacketIds()
    const one = ids.allocate(5, 1)
    const two = ids.allocate(6, 2)
    expect(ids.release(one)).toBe(false)
    expect(ids.release(two)).toBe(true)
    expect(ids.get(two)?.released).toBe(true)
    expect(ids.releasedDeliveries()).toEqual([6])
  })

  test('wraps around after 65535 and skips ids still in flight', () => {
    const ids = new PacketIds()
    const held = ids.allocate(1, 1)
    for (let i = 2; i <= 65535; i++) ids.take(ids.allocate(i, 1))
    // Next is 1 again, which is still in flight: skipped.
    expect(ids.allocate(99, 1)).toBe(2)
    expect(ids.take(held)).toBe(1)
  })

  test('returns 0 when all 65535 ids are in flight', () => {
    const ids = new PacketIds()
    for (let i = 1; i <= 65535; i++) ids.allocate(i, 1)
    expect(ids.allocate(70000, 1)).toBe(0)
  })

  test('large delivery ids survive the packing', () => {
    const ids = new PacketIds()
    const id = ids.allocate(2 ** 40 + 3, 2)
    expect(ids.get(id)?.deliveryId).toBe(2 ** 40 + 3)
  })

  test('allocateAt keeps a wanted free id, falls back when taken; restoreReleased and next carry a session over', () => {
    const ids = new PacketIds()
    expect(ids.allocateAt(7, 10, 1)).toBe(7)
    expect(ids.allocateAt(7, 11, 2)).not.toBe(7)
    ids.restoreReleased(9)
    expect(ids.get(9)).toEqual({ deliveryId: 0, qos: 2, released: true })
    expect([...ids.entries()].map(([id]) => id).sort((a, b) => a - b)).toEqual([1, 7, 9])
    ids.next = 500
    expect(ids.allocate(12, 1)).toBe(500)
    ids.next = 70000
    expect(ids.next).toBe(1)
  })
})
