// Random and mutated input for every decoder: each may only ever throw AmqpError.
import { describe, expect, test } from 'bun:test'
import type { Table } from '../../../src/api.ts'
import { METHODS, type MethodSpec } from '../spec/generated.ts'
import { ByteWriter } from './byte_writer.ts'
import { AmqpError } from './errors.ts'
import { decodeFieldTableBody, encodeTable } from './field_table.ts'
import { FrameReader } from './frame_reader.ts'
import { FrameWriter } from './frame_writer.ts'
import { decodeMethod } from './methods.ts'
import { decodeContentHeader } from './properties.ts'

const ROUNDS = 4000

/** mulberry32: a small seeded PRNG so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const random = prng(0x5eed)
const int = (n: number) => Math.floor(random() * n)

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = int(256)
  return out
}

/** Flips, truncates or extends a valid encoding. */
function mutate(valid: Uint8Array): Uint8Array {
  const out = new Uint8Array(valid.length + int(4))
  out.set(valid)
  out.set(randomBytes(out.length - valid.length), valid.length)
  for (let flips = 1 + int(3); flips > 0; flips--) out[int(out.length)] = int(256)
  return random() < 0.3 ? out.subarray(0, int(out.length + 1)) : out
}

/** Runs `fn`; anything thrown other than an AmqpError fails the test. */
function onlyAmqpErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof AmqpError)) throw error
  }
}

const TABLE: Table = {
  s: 'str',
  n: 1,
  l: 2 ** 40,
  d: 0.25,
  a: [1, 'x', [true]],
  f: { x: new Uint8Array([1]), t: new Date(0) },
  dec: { kind: 'decimal', scale: 1, value: 2 },
}

const VALID_METHODS: Uint8Array[] = (Object.values(METHODS) as MethodSpec[]).map((spec) => {
  const w = new ByteWriter(64)
  w.short(spec.classId)
  w.short(spec.methodId)
  const args: Record<string, unknown> = {}
  for (const [name, type] of spec.fields) {
    args[name] = { table: TABLE, bytes: new Uint8Array([0, 1]), shortstr: 'name', longstr: 'long', bit: true }[type as string] ?? 3
  }
  spec.encode(w, args as never)
  return w.take()
})

describe('fuzz', () => {
  test('decodeMethod: random arguments for every method', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const valid = VALID_METHODS[int(VALID_METHODS.length)]!
      const payload = new Uint8Array(4 + int(48))
      payload.set(valid.subarray(0, 4))
      payload.set(randomBytes(payload.length - 4), 4)
      onlyAmqpErrors(() => decodeMethod(payload))
      onlyAmqpErrors(() => decodeMethod(randomBytes(int(12))))
    }
  })

  test('decodeMethod: mutated valid methods', () => {
    for (let i = 0; i < ROUNDS; i++) {
      onlyAmqpErrors(() => decodeMethod(mutate(VALID_METHODS[int(VALID_METHODS.length)]!)))
    }
  })

  test('field tables: random and mutated', () => {
    const w = new ByteWriter()
    encodeTable(w, TABLE)
    const valid = w.take().subarray(4)
    for (let i = 0; i < ROUNDS; i++) {
      onlyAmqpErrors(() => decodeFieldTableBody(randomBytes(int(40))))
      onlyAmqpErrors(() => decodeFieldTableBody(mutate(valid)))
    }
  })

  test('content headers: random and mutated', () => {
    const chunks: Uint8Array[] = []
    const writer = new FrameWriter((chunk) => chunks.push(chunk) > 0)
    writer.writeContent(1, 60, { contentType: 'a', headers: TABLE, priority: 1, timestamp: 5, appId: 'x' }, new Uint8Array(0))
    writer.flush()
    const valid = chunks[0]!.subarray(7, chunks[0]!.length - 1)
    for (let i = 0; i < ROUNDS; i++) {
      const random = randomBytes(14 + int(30))
      random[1] = 60
      onlyAmqpErrors(() => decodeContentHeader(random))
      onlyAmqpErrors(() => decodeContentHeader(mutate(valid)))
    }
  })

  test('FrameReader: random and mutated streams in random chunks', () => {
    const chunks: Uint8Array[] = []
    const writer = new FrameWriter((chunk) => chunks.push(chunk) > 0)
    writer.writeMethod(1, 'basic.publish', { routingKey: 'k' })
    writer.writeContent(1, 60, { headers: TABLE }, new Uint8Array(300))
    writer.writeHeartbeat()
    writer.flush()
    const valid = Buffer.concat([new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]), ...chunks])
    let frames = 0
    for (let i = 0; i < ROUNDS / 4; i++) {
      const reader = new FrameReader(
        {
          onProtocolHeader: () => {},
          onFrame: (type, _channel, payload) => {
            frames++
            if (type === 1) decodeMethod(payload)
            if (type === 2) decodeContentHeader(payload)
          },
        },
        { frameMax: 4096 },
      )
      const input = random() < 0.5 ? mutate(valid) : randomBytes(int(200))
      onlyAmqpErrors(() => {
        for (let o = 0; o < input.length; ) {
          const n = 1 + int(64)
          reader.push(input.subarray(o, o + n))
          o += n
        }
      })
    }
    // The mutations leave many frames intact, so the decoders behind the reader were reached.
    expect(frames).toBeGreaterThan(ROUNDS / 8)
  })
})
