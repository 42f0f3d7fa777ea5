import { describe, expect, test } from 'bun:test'
import type { FieldValue, Table } from '../../../src/api.ts'
import { ReplyCode } from '../spec/generated.ts'
import { ByteWriter } from './byte_writer.ts'
import { AmqpError } from './errors.ts'
import { decodeFieldTableBody, decodeTable, encodeTable } from './field_table.ts'

function encoded(table: Table): Uint8Array {
  const w = new ByteWriter(8)
  encodeTable(w, table)
  return w.take()
}

function decoded(bytes: Uint8Array): Table {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const { value, offset } = decodeTable(view, bytes, 0)
  expect(offset).toBe(bytes.length)
  return value
}

/** A table body holding one field "k" with the given tag and value bytes. */
function field(tag: string, ...value: number[]): Uint8Array {
  const body = [1, 0x6b, tag.charCodeAt(0), ...value]
  return new Uint8Array([0, 0, 0, body.length, ...body])
}

function tableError(bytes: Uint8Array): AmqpError {
  try {
    decodeFieldTableBody(bytes)
  } catch (error) {
    if (error instanceof AmqpError) return error
    throw error
  }
  throw new Error('expected an AmqpError')
}

describe('field table types', () => {
  // Each wire value: its tag, value bytes and what it decodes to.
  const cases: [string, number[], FieldValue][] = [
    ['t', [1], true],
    ['t', [0], false],
    ['b', [0xfe], { kind: 'typed-number', type: 'b', value: -2 }],
    ['B', [0xfe], { kind: 'typed-number', type: 'B', value: 254 }],
    ['s', [0xff, 0xfe], { kind: 'typed-number', type: 's', value: -2 }],
    ['u', [0xff, 0xfe], { kind: 'typed-number', type: 'u', value: 65534 }],
    ['I', [0xff, 0xff, 0xff, 0xfe], -2],
    ['i', [0xff, 0xff, 0xff, 0xfe], { kind: 'typed-number', type: 'i', value: 4294967294 }],
    ['l', [0, 0, 0, 1, 0, 0, 0, 0], 4294967296],
    ['l', [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2n ** 63n - 1n],
    ['l', [0x80, 0, 0, 0, 0, 0, 0, 0], -(2n ** 63n)],
    ['f', [0x3f, 0xc0, 0, 0], { kind: 'typed-number', type: 'f', value: 1.5 }],
    ['d', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], 1.5],
    ['D', [2, 0, 0, 0x30, 0x39], { kind: 'decimal', scale: 2, value: 12345 }],
    ['T', [0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00], new Date(1700000000 * 1000)],
    ['T', [0xff, 0, 0, 0, 0, 0, 0, 0], { kind: 'typed-number', type: 'T', value: 0xff00000000000000n }],
    ['S', [0, 0, 0, 3, 0x61, 0xc3, 0xa9], 'aé'],
    ['x', [0, 0, 0, 3, 0, 1, 255], new Uint8Array([0, 1, 255])],
    ['V', [], null],
    ['F', [0, 0, 0, 4, 1, 0x6e, 0x74, 1], { n: true }],
    ['A', [0, 0, 0, 7, 0x74, 0, 0x56, 0x62, 5, 0x56, 0x56], [false, null, { kind: 'typed-number', type: 'b', value: 5 }, null, null]],
  ]
  for (const [tag, bytes, value] of cases) {
    test(`'${tag}' ${JSON.stringify(bytes)} decodes and re-encodes byte for byte`, () => {
      const wire = field(tag, ...bytes)
      const table = decoded(wire)
      expect(table).toEqual({ k: value })
      expect([...encoded(table)]).toEqual([...wire])
    })
  }

  test("a small 'l' stays an 'l' (a TypedNumber), so it is written back as 'l', not 'I', as RabbitMQ passes it through", () => {
    const wire = field('l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)
    const table = decoded(wire)
    expect(table).toEqual({ k: { kind: 'typed-number', type: 'l', value: -2 } })
    expect([...encoded(table)]).toEqual([...wire])
  })

  test("an 'l' beyond 32 bits decodes as a plain number and is written back as 'l'", () => {
    const wire = field('l', 0, 0, 0, 1, 0, 0, 0, 0)
    const table = decoded(wire)
    expect(table).toEqual({ k: 2 ** 32 })
    expect([...encoded(table)]).toEqual([...wire])
  })

  test("'L' is read as a signed 64-bit integer and written back as 'l', as RabbitMQ does", () => {
    const table = decoded(field('L', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
    expect(table).toEqual({ k: { kind: 'typed-number', type: 'l', value: -1 } })
    expect([...encoded(table)]).toEqual([...field('l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)])
  })

  test('byte arrays are views into the input, not copies', () => {
    const wire = field('x', 0, 0, 0, 2, 7, 8)
    const bytes = decoded(wire).k as Uint8Array
    expect(bytes.buffer).toBe(wire.buffer)
  })
})

describe('encoding plain values', () => {
  const cases: [FieldValue, string][] = [
    ['s', 'S'],
    [true, 't'],
    [0, 'I'],
    [-(2 ** 31), 'I'],
    [2 ** 31 - 1, 'I'],
    [2 ** 31, 'l'],
    [-(2 ** 53) + 1, 'l'],
    [2 ** 53, 'd'],
    [0.5, 'd'],
    [Number.NaN, 'd'],
    [5n, 'l'],
    [new Uint8Array(1), 'x'],
    [new Date(0), 'T'],
    [[], 'A'],
    [{}, 'F'],
    [null, 'V'],
    [undefined, 'V'],
    [{ kind: 'decimal', scale: 1, value: 5 }, 'D'],
    [{ kind: 'typed-number', type: 'u', value: 5 }, 'u'],
  ]
  const label = (value: FieldValue): string => {
    if (value === null || typeof value !== 'object') return `${typeof value} ${String(value)}`
    if (value instanceof Date || value instanceof Uint8Array) return value.constructor.name
    if (Array.isArray(value)) return 'array'
    return 'kind' in value ? String(value.kind) : 'object'
  }
  for (const [value, tag] of cases) {
    test(`${label(value)} is written as '${tag}'`, () => {
      const wire = encoded({ k: value })
      expect(String.fromCharCode(wire[6]!)).toBe(tag)
    })
  }

  test('nested tables and arrays round-trip', () => {
    const table: Table = {
      headers: { 'x-death': [{ count: 2, reason: 'expired', queue: 'q', time: new Date(1_600_000_000_000) }] },
      big: 2n ** 62n,
      neg: -(2 ** 40),
      bytes: new Uint8Array([1, 2, 3]),
      decimal: { kind: 'decimal', scale: 3, value: 4294967295 },
      deep: { a: { b: { c: [[['x']]] } } },
      unicode: 'ключ',
      '': 'empty key',
    }
    expect(decoded(encoded(table))).toEqual(table)
  })

  test('a key named __proto__ stays an own property', () => {
    const table = decoded(encoded(JSON.parse('{"__proto__": {"polluted": true}}') as Table))
    expect(Object.keys(table)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype)
    expect((table as { polluted?: boolean }).polluted).toBeUndefined()
  })

  test('programmer errors are RangeError or TypeError', () => {
    const cyclic: Table = {}
    cyclic.self = cyclic
    expect(() => encoded(cyclic)).toThrow(RangeError)
    expect(() => encoded({ k: 2n ** 63n })).toThrow(RangeError)
    expect(() => encoded({ k: new Date(-1000) })).toThrow(RangeError)
    expect(() => encoded({ k: { kind: 'decimal', scale: 256, value: 1 } })).toThrow(RangeError)
    expect(() => encoded({ ['k'.repeat(256)]: 1 })).toThrow(RangeError)
    expect(() => encoded({ k: { kind: 'typed-number', type: 'q' as 'b', value: 1 } })).toThrow(TypeError)
  })
})

describe('field table errors', () => {
  test('an unknown type is 502 SYNTAX_ERROR', () => {
    const e = tableError(field('Z', 1).subarray(4))
    expect(e.replyCode).toBe(ReplyCode.SYNTAX_ERROR)
    expect(e.message).toBe("invalid field table: unknown field type 'Z'")
  })

  test('every truncation inside a field is 502', () => {
    const full = { a: 'text', b: [1, 2], c: { d: 1.5 }, e: 2n ** 40n }
    const wire = encoded(full)
    let refused = 0
    for (let cut = 1; cut < wire.length - 4; cut++) {
      // The body without its 4-byte length, so the body end is the buffer end.
      const body = wire.subarray(4, 4 + cut)
      try {
        // A cut between two fields is a smaller valid table.
        const keys = Object.keys(decodeFieldTableBody(body))
        expect(Object.keys(full).slice(0, keys.length)).toEqual(keys)
      } catch (error) {
        expect(error).toBeInstanceOf(AmqpError)
        expect((error as AmqpError).replyCode).toBe(ReplyCode.SYNTAX_ERROR)
        refused++
      }
    }
    expect(refused).toBe(wire.length - 4 - 1 - 3)
  })

  test('a length past the end of the buffer is 502', () => {
    const bytes = new Uint8Array([0, 0, 0, 9, 0])
    expect(() => decodeTable(new DataView(bytes.buffer), bytes, 0)).toThrow(AmqpError)
  })

  test('nesting beyond 100 levels is refused instead of exhausting the stack', () => {
    const depth = 5000
    const bytes = new Uint8Array(depth * 5)
    for (let i = 0; i < depth; i++) {
      bytes[i * 5] = 0x41 // 'A'
      new DataView(bytes.buffer).setUint32(i * 5 + 1, (depth - i - 1) * 5)
    }
    const e = tableError(new Uint8Array([1, 0x6b, ...bytes]))
    expect(e.message).toBe('invalid field table: nested too deeply')
  })
})
