import { describe, expect, test } from 'bun:test'
import type { Table } from '../../../src/api.ts'
import { type FieldType, METHODS, type MethodSpec, ReplyCode } from '../spec/generated.ts'
import { ByteWriter } from './byte_writer.ts'
import { AmqpError } from './errors.ts'
import { decodeMethod, type DecodedMethod, type EncodeArgs, type MethodName, methodIds } from './methods.ts'

const RICH_TABLE: Table = { s: 'text', i: -5, big: 2 ** 40, nested: { list: [1, 'two', true, null] } }

/** A sample value of each field type; variant 1 stresses limits and non-ASCII. */
function sample(type: FieldType, index: number, variant: number): unknown {
  switch (type) {
    case 'octet':
      return variant ? 255 : 7
    case 'short':
      return variant ? 65535 : 513
    case 'long':
      return variant ? 0xffffffff : 70000
    case 'longlong':
    case 'timestamp':
      return variant ? Number.MAX_SAFE_INTEGER : 4294967297
    case 'bit':
      return (index + variant) % 2 === 0
    case 'shortstr':
      return variant ? `ключ-${'x'.repeat(240)}` : 'amq.topic'
    case 'longstr':
      return variant ? 'ü'.repeat(300) : ''
    case 'bytes':
      return new Uint8Array([0, 1, 2, 0, 255])
    case 'table':
      return variant ? RICH_TABLE : {}
  }
}

function fixture(spec: MethodSpec, variant: number): Record<string, unknown> {
  return Object.fromEntries(spec.fields.map(([name, type], i) => [name, sample(type, i, variant)]))
}

function encode<N extends MethodName>(name: N, args: EncodeArgs<N>): Uint8Array {
  const w = new ByteWriter(16)
  const { classId, methodId } = methodIds(name)
  w.short(classId)
  w.short(methodId)
  METHODS[name].encode(w, args)
  return w.take()
}

function decodeError(payload: Uint8Array): AmqpError {
  try {
    decodeMethod(payload)
  } catch (error) {
    if (error instanceof AmqpError) return error
    throw error
  }
  throw new Error('expected an AmqpError')
}

const ALL = Object.values(METHODS) as MethodSpec[]

describe('method round trip', () => {
  test('the spec has every method of AMQP 0-9-1 with RabbitMQ extensions', () => {
    // connection 14, channel 6, access 2, exchange 8, queue 10, basic 18, tx 6, confirm 2
    expect(ALL.length).toBe(66)
    expect(methodIds('basic.nack')).toEqual({ classId: 60, methodId: 120 })
    expect(methodIds('exchange.unbind-ok')).toEqual({ classId: 40, methodId: 51 })
  })

  for (const spec of ALL) {
    test(`${spec.name} decodes what it encodes`, () => {
      for (const variant of [0, 1]) {
        const args = fixture(spec, variant)
        const decoded = decodeMethod(encode(spec.name, args as never))
        expect(decoded.name).toBe(spec.name)
        expect(decoded.classId).toBe(spec.classId)
        expect(decoded.methodId).toBe(spec.methodId)
        expect(decoded.args).toEqual(args as never)
      }
    })
  }

  test('omitted fields decode as their spec default-value', () => {
    const m = decodeMethod(encode('basic.nack', {}))
    expect(m.args).toEqual({ deliveryTag: 0, multiple: false, requeue: true })
    const q = decodeMethod(encode('queue.declare', {}))
    expect(q.args).toEqual({
      ticket: 0,
      queue: '',
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    })
    const s = decodeMethod(encode('connection.start', { serverProperties: {} }))
    expect(s.args).toEqual({ versionMajor: 0, versionMinor: 9, serverProperties: {}, mechanisms: 'PLAIN', locales: 'en_US' })
  })

  test('switch on the name narrows the arguments', () => {
    const m: DecodedMethod = decodeMethod(encode('basic.qos', { prefetchCount: 10, global: true }))
    switch (m.name) {
      case 'basic.qos':
        expect(m.args.prefetchCount + 1).toBe(11)
        expect(m.args.global).toBe(true)
        break
      default:
        throw new Error(`unexpected ${m.name}`)
    }
  })
})

describe('method layout', () => {
  test('consecutive bits pack into one octet, lowest bit first', () => {
    const payload = encode('exchange.declare', { exchange: 'x', passive: true, autoDelete: true, nowait: true })
    // class, method, ticket, "x", "direct", bits, empty table
    expect([...payload]).toEqual([
      0, 40, 0, 10, 0, 0, 1, 120, 6, 100, 105, 114, 101, 99, 116, 0b10101, 0, 0, 0, 0,
    ])
  })

  test('basic.deliver with a 64-bit delivery tag', () => {
    const payload = encode('basic.deliver', { consumerTag: 'c', deliveryTag: 2 ** 40 + 3, exchange: '', routingKey: 'k' })
    expect([...payload.subarray(6, 14)]).toEqual([0, 0, 1, 0, 0, 0, 0, 3])
    expect(decodeMethod(payload).args).toEqual({
      consumerTag: 'c',
      deliveryTag: 2 ** 40 + 3,
      redelivered: false,
      exchange: '',
      routingKey: 'k',
    })
  })

  test('SASL responses stay bytes, NUL included', () => {
    const response = new TextEncoder().encode('\0guest\0guest')
    const m = decodeMethod(encode('connection.start-ok', { clientProperties: { product: 'x' }, response }))
    expect(m.name).toBe('connection.start-ok')
    if (m.name !== 'connection.start-ok') return
    expect(m.args.response).toBeInstanceOf(Uint8Array)
    expect([...m.args.response]).toEqual([...response])
  })

  test('a shortstr over 255 bytes is a RangeError', () => {
    expect(() => encode('basic.publish', { routingKey: 'x'.repeat(256) })).toThrow(RangeError)
    // 128 two-byte characters: 128 UTF-16 units but 256 bytes.
    expect(() => encode('basic.publish', { routingKey: 'é'.repeat(128) })).toThrow(RangeError)
    expect(decodeMethod(encode('basic.publish', { routingKey: 'é'.repeat(127) })).args).toMatchObject({
      routingKey: 'é'.repeat(127),
    })
  })
})

describe('method errors', () => {
  test('an unknown method is 540 NOT_IMPLEMENTED with its ids', () => {
    const e = decodeError(new Uint8Array([0, 60, 0, 99]))
    expect(e.replyCode).toBe(ReplyCode.NOT_IMPLEMENTED)
    expect(e.scope).toBe('connection')
    expect([e.classId, e.methodId]).toEqual([60, 99])
    expect(e.message).toBe('unknown method {60,99}')
  })

  test('a payload shorter than the ids is a frame error', () => {
    const e = decodeError(new Uint8Array([0, 60]))
    expect(e.replyCode).toBe(ReplyCode.FRAME_ERROR)
    expect(e.message).toBe('type 1, all octets = <<0,60>>: unknown_frame')
  })

  test('truncated arguments are 501 FRAME_ERROR "cannot decode", as rabbit_framing does', () => {
    const full = encode('basic.publish', { exchange: 'ex', routingKey: 'rk' })
    for (let cut = 4; cut < full.length; cut++) {
      const e = decodeError(full.subarray(0, cut))
      expect(e.replyCode).toBe(ReplyCode.FRAME_ERROR)
      expect([e.classId, e.methodId]).toEqual([60, 40])
      expect(e.message).toBe(`cannot decode <<${full.subarray(4, cut).join(',')}>>`)
    }
  })

  test('long arguments are shown up to 48 octets', () => {
    const payload = encode('basic.publish', { exchange: 'e'.repeat(100) })
    const e = decodeError(payload.subarray(0, 80))
    expect(e.message).toBe(`cannot decode <<0,0,100,${'101,'.repeat(44)}101...>>`)
  })

  test('trailing bytes after the arguments are refused too', () => {
    const full = encode('basic.ack', { deliveryTag: 1 })
    const longer = new Uint8Array(full.length + 1)
    longer.set(full)
    expect(decodeError(longer).replyCode).toBe(ReplyCode.FRAME_ERROR)
    expect(decodeError(new Uint8Array([0, 90, 0, 10, 0])).message).toBe('cannot decode <<0>>')
  })

  test('malformed UTF-8 in a shortstr of a non-content method is 501', () => {
    const payload = encode('queue.declare', { queue: 'ab' })
    payload[7] = 0xff
    const e = decodeError(payload)
    expect(e.replyCode).toBe(ReplyCode.FRAME_ERROR)
    expect(e.message).toBe('Malformed UTF-8 in shortstr')
    expect([e.classId, e.methodId]).toEqual([50, 10])
    // Content methods are not checked, as in RabbitMQ (speed).
    const publish = encode('basic.publish', { routingKey: 'ab' })
    publish[8] = 0xff
    expect(decodeMethod(publish).args).toMatchObject({ routingKey: '\ufffdb' })
  })

  test('a bad field-table type is 502 SYNTAX_ERROR carrying the method ids', () => {
    const payload = encode('queue.declare', { queue: 'q', arguments: { k: 1 } })
    // The value tag 'I' is the byte after the key "k".
    const tag = payload.lastIndexOf(0x49)
    payload[tag] = 0x5a // 'Z'
    const e = decodeError(payload)
    expect(e.replyCode).toBe(ReplyCode.SYNTAX_ERROR)
    expect(e.scope).toBe('connection')
    expect([e.classId, e.methodId]).toEqual([50, 10])
    expect(e.message).toBe("invalid field table: unknown field type 'Z'")
  })
})
