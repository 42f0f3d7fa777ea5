import { describe, expect, test } from 'bun:test'
import type { Message } from '../api.ts'
import { canonicalTable, tableFromJson, tableToJson } from './field_json.ts'
import { FRAME_HEADER, scanFrames } from './frame.ts'
import { decodeMessage, readMeta, RecordArena } from './message_codec.ts'

/** Encodes like a segment store does and reads it back through the frame scanner. */
function roundTrip(message: Message, seq = 7, priority = 3, expiresAt = 0): { message: Message; meta: ReturnType<typeof readMeta> } {
  const arena = new RecordArena(64)
  const head = arena.encodeMessage(message, seq, priority, expiresAt)
  const file = new Uint8Array(head.byteLength + message.body.byteLength)
  file.set(head)
  file.set(message.body, head.byteLength)
  let payload: Uint8Array | undefined
  const result = scanFrames(file, 0, (p) => (payload = p))
  expect(result.problems).toEqual([])
  expect(payload!.byteLength + FRAME_HEADER).toBe(file.byteLength)
  return { message: decodeMessage(payload!), meta: readMeta(payload!) }
}

describe('message records', () => {
  test('every property, the annotations and the body come back', () => {
    const message: Message = {
      exchange: 'ex',
      routingKey: 'a.b.ü',
      properties: {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        headers: { s: 'x', n: 1.5, b: true, nested: { deep: [1, 'two', null] }, bin: new Uint8Array([0, 255]) },
        deliveryMode: 2,
        priority: 9,
        correlationId: 'c',
        replyTo: 'r',
        expiration: '1000',
        messageId: 'm',
        timestamp: 1_700_000_000,
        type: 't',
        userId: 'guest',
        appId: 'app',
        clusterId: 'cl',
      },
      body: new TextEncoder().encode('hello'),
      annotations: { 'mqtt.qos': 1, 'mqtt.retain': false, 'x.s': 'v' },
    }
    const { message: back, meta } = roundTrip(message, 42, 9, 123456)
    expect(back).toEqual(message)
    expect(meta).toEqual({ seq: 42, priority: 9, expiresAt: 123456, size: 5, transient: false })
  })

  test('a bare message stays bare', () => {
    const message: Message = { exchange: '', routingKey: 'q', properties: {}, body: new Uint8Array(0) }
    expect(roundTrip(message).message).toEqual(message)
  })

  test('the arena grows for a record larger than its space', () => {
    const message: Message = { exchange: '', routingKey: 'k'.repeat(500), properties: { messageId: 'é'.repeat(300) }, body: new Uint8Array(10) }
    expect(roundTrip(message).message).toEqual(message)
  })
})

describe('field tables as JSON', () => {
  test('every field type round-trips', () => {
    const table = {
      bin: new Uint8Array([1, 2, 3]),
      big: 2n ** 70n,
      date: new Date(1234),
      void: undefined,
      nan: Number.NaN,
      inf: Number.NEGATIVE_INFINITY,
      dec: { kind: 'decimal' as const, scale: 2, value: 12345 },
      tn: { kind: 'typed-number' as const, type: 'l' as const, value: 5n },
      tagLike: { $b: 'not binary' },
      list: [1, 'a', [true]],
    }
    const back = tableFromJson(JSON.parse(JSON.stringify(tableToJson(table))))
    expect(back).toEqual(table)
  })

  test('canonical text ignores key order', () => {
    expect(canonicalTable({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalTable({ b: { d: 3, c: 2 }, a: 1 }))
    expect(canonicalTable(undefined)).toBe('')
  })
})
