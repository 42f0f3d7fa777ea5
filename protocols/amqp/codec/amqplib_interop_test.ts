// Byte-level fixtures against amqplib's own codec (node_modules/amqplib/lib/defs.js): what a
// real client sends must decode, and what Warren sends must decode in the client.
import { describe, expect, test } from 'bun:test'
import { createRequire } from 'node:module'
import type { MessageProperties, Table } from '../../../src/api.ts'
import { ByteWriter } from './byte_writer.ts'
import { decodeFieldTableBody, encodeTable } from './field_table.ts'
import { FrameReader } from './frame_reader.ts'
import { FrameWriter } from './frame_writer.ts'
import { decodeMethod } from './methods.ts'
import { decodeContentHeader } from './properties.ts'

interface AmqplibDefs {
  BasicPublish: number
  BasicDeliver: number
  BasicProperties: number
  encodeMethod(id: number, channel: number, fields: object): Buffer
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer
  decode(id: number, args: Buffer): Record<string, unknown>
}

// amqplib's package.json "exports" hides lib/, so load the file by path.
const require = createRequire(import.meta.url)
const defs = require(new URL('../../../node_modules/amqplib/lib/defs.js', import.meta.url).pathname) as AmqplibDefs

/** The frames of `bytes` (a protocol header is prepended for the reader). */
function frames(bytes: Uint8Array): [number, number, Uint8Array][] {
  const out: [number, number, Uint8Array][] = []
  const reader = new FrameReader(
    { onProtocolHeader: () => {}, onFrame: (type, channel, payload) => out.push([type, channel, payload]) },
    { frameMax: 131072 },
  )
  reader.push(new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]))
  reader.push(bytes)
  return out
}

function written(write: (writer: FrameWriter) => void): Uint8Array {
  const chunks: Uint8Array[] = []
  const writer = new FrameWriter((chunk) => chunks.push(chunk) > 0)
  write(writer)
  writer.flush()
  return Buffer.concat(chunks)
}

const AMQPLIB_HEADERS = {
  small: 5,
  mid: 1000,
  int: 70000,
  long: 2 ** 40,
  frac: 1.5,
  text: 'ключ',
  bytes: Buffer.from([0, 1, 2]),
  list: [1, 'a', true, null],
  nested: { deep: { x: -1 } },
  ts: { '!': 'timestamp', value: 1700000000 },
  dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
}

const WARREN_HEADERS: Table = {
  small: { kind: 'typed-number', type: 'b', value: 5 },
  mid: { kind: 'typed-number', type: 's', value: 1000 },
  int: 70000,
  long: 2 ** 40,
  frac: 1.5,
  text: 'ключ',
  bytes: new Uint8Array([0, 1, 2]),
  list: [{ kind: 'typed-number', type: 'b', value: 1 }, 'a', true, null],
  nested: { deep: { x: { kind: 'typed-number', type: 'b', value: -1 } } },
  ts: new Date(1700000000 * 1000),
  dec: { kind: 'decimal', scale: 2, value: 12345 },
}

describe('amqplib interop', () => {
  test('a basic.publish frame from amqplib decodes', () => {
    const frame = defs.encodeMethod(defs.BasicPublish, 7, {
      ticket: 0,
      exchange: 'amq.topic',
      routingKey: 'a.b.ключ',
      mandatory: true,
      immediate: false,
    })
    const [[type, channel, payload]] = frames(frame) as [[number, number, Uint8Array]]
    expect([type, channel]).toEqual([1, 7])
    expect(decodeMethod(payload)).toEqual({
      name: 'basic.publish',
      classId: 60,
      methodId: 40,
      args: { ticket: 0, exchange: 'amq.topic', routingKey: 'a.b.ключ', mandatory: true, immediate: false },
    })
  })

  test("amqplib's content header with every property decodes", () => {
    const frame = defs.encodeProperties(defs.BasicProperties, 7, 12, {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: AMQPLIB_HEADERS,
      deliveryMode: 2,
      priority: 3,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '1000',
      messageId: 'm',
      timestamp: 1700000000,
      type: 't',
      userId: 'guest',
      appId: 'app',
      clusterId: 'cl',
    })
    const [[type, , payload]] = frames(frame) as [[number, number, Uint8Array]]
    expect(type).toBe(2)
    const header = decodeContentHeader(payload)
    expect(header.bodySize).toBe(12)
    expect(header.properties).toEqual({
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: WARREN_HEADERS,
      deliveryMode: 2,
      priority: 3,
      correlationId: 'c',
      replyTo: 'r',
      expiration: '1000',
      messageId: 'm',
      timestamp: 1700000000,
      type: 't',
      userId: 'guest',
      appId: 'app',
      clusterId: 'cl',
    })
  })

  test("amqplib's field tables re-encode byte for byte", () => {
    const frame = defs.encodeProperties(defs.BasicProperties, 1, 0, { headers: AMQPLIB_HEADERS })
    // 7 frame header + 12 class/weight/size + 2 flags, then the table with its length.
    const table = frame.subarray(7 + 14, frame.length - 1)
    const w = new ByteWriter()
    encodeTable(w, decodeFieldTableBody(table.subarray(4)))
    expect(Buffer.from(w.take()).equals(table)).toBe(true)
  })

  test('our basic.deliver and content frames decode in amqplib', () => {
    const properties: MessageProperties = {
      contentType: 'application/json',
      headers: { n: 70000, s: 'x', big: 2 ** 40, nested: { ok: true } },
      deliveryMode: 2,
      timestamp: 1700000000,
      messageId: 'id-1',
    }
    const body = new TextEncoder().encode('{"hello":"world"}')
    const bytes = written((w) => {
      w.writeMethod(9, 'basic.deliver', {
        consumerTag: 'amq.ctag-1',
        deliveryTag: 2 ** 33,
        redelivered: true,
        exchange: 'ex',
        routingKey: 'rk',
      })
      w.writeContent(9, 60, properties, body)
    })
    const [method, header, content] = frames(bytes) as [number, number, Uint8Array][]
    expect(method![0]).toBe(1)
    expect(defs.decode(defs.BasicDeliver, Buffer.from(method![2].subarray(4)))).toEqual({
      consumerTag: 'amq.ctag-1',
      deliveryTag: 2 ** 33,
      redelivered: true,
      exchange: 'ex',
      routingKey: 'rk',
    })
    expect(defs.decode(defs.BasicProperties, Buffer.from(header![2].subarray(12)))).toMatchObject({
      contentType: 'application/json',
      headers: { n: 70000, s: 'x', big: 2 ** 40, nested: { ok: true } },
      deliveryMode: 2,
      timestamp: 1700000000,
      messageId: 'id-1',
    })
    expect(Buffer.from(content![2]).toString()).toBe('{"hello":"world"}')
  })
})
