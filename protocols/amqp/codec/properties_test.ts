import { describe, expect, test } from 'bun:test'
import type { MessageProperties } from '../../../src/api.ts'
import { BASIC_PROPERTIES, ReplyCode } from '../spec/generated.ts'
import { AmqpError } from './errors.ts'
import { FrameWriter } from './frame_writer.ts'
import { decodeContentHeader } from './properties.ts'

const ALL: Required<MessageProperties> = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: { 'x-match': 'all', n: 1, nested: { list: [1n << 62n, true] } },
  deliveryMode: 2,
  priority: 9,
  correlationId: 'corr-1',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'msg-1',
  timestamp: 1700000000,
  type: 'order.created',
  userId: 'guest',
  appId: 'warren-test',
  clusterId: 'c1',
}

/** The content header payload FrameWriter produces for `properties`. */
function headerPayload(properties: MessageProperties, bodySize = 0): Uint8Array {
  const chunks: Uint8Array[] = []
  const writer = new FrameWriter((chunk) => chunks.push(chunk) > 0)
  writer.writeContent(1, 60, properties, new Uint8Array(bodySize))
  writer.flush()
  const frame = chunks[0]!
  const size = new DataView(frame.buffer, frame.byteOffset).getUint32(3)
  return frame.subarray(7, 7 + size)
}

function headerError(payload: Uint8Array): AmqpError {
  try {
    decodeContentHeader(payload)
  } catch (error) {
    if (error instanceof AmqpError) return error
    throw error
  }
  throw new Error('expected an AmqpError')
}

describe('content header properties', () => {
  test('the 14 basic properties in wire order with flag bits 15 down to 2', () => {
    expect(BASIC_PROPERTIES.map((p) => p.name)).toEqual(Object.keys(ALL) as (keyof MessageProperties)[])
    expect(BASIC_PROPERTIES.map((p) => p.flag)).toEqual(BASIC_PROPERTIES.map((_, i) => 1 << (15 - i)))
  })

  test('all 14 properties round-trip', () => {
    const header = decodeContentHeader(headerPayload(ALL, 3))
    expect(header).toEqual({ classId: 60, weight: 0, bodySize: 3, properties: ALL })
  })

  for (const property of BASIC_PROPERTIES) {
    test(`${property.name} alone sets only its flag`, () => {
      const properties = { [property.name]: ALL[property.name] }
      const payload = headerPayload(properties)
      expect((payload[12]! << 8) | payload[13]!).toBe(property.flag)
      expect(decodeContentHeader(payload).properties).toEqual(properties)
    })
  }

  test('no properties is flags 0 and an empty object; undefined values are skipped', () => {
    const payload = headerPayload({ contentType: undefined }, 70000)
    expect([...payload]).toEqual([0, 60, 0, 0, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 0, 0])
    expect(decodeContentHeader(payload)).toEqual({ classId: 60, weight: 0, bodySize: 70000, properties: {} })
  })

  test('flag bits 1 and 0 (more flags follow) are ignored, as RabbitMQ does', () => {
    const payload = headerPayload({ priority: 1 })
    payload[13] = 0x03
    expect(decodeContentHeader(payload).properties).toEqual({ priority: 1 })
  })

  test('bytes the flags do not account for are 502 SYNTAX_ERROR', () => {
    const payload = headerPayload({ contentType: 'text/plain' })
    const e = headerError(payload.subarray(0, payload.length - 1))
    expect(e.replyCode).toBe(ReplyCode.SYNTAX_ERROR)
    expect(e.message).toBe('malformed content header properties (flags <<128,0>>)')
    const trailing = new Uint8Array(payload.length + 1)
    trailing.set(payload)
    expect(headerError(trailing).replyCode).toBe(ReplyCode.SYNTAX_ERROR)
  })

  test('a payload shorter than the fixed part is 502', () => {
    expect(headerError(new Uint8Array([0, 60, 0, 0])).message).toBe('malformed content header: <<0,60,0,0>>')
  })

  test('another class id is returned with its properties undecoded', () => {
    const payload = headerPayload({ contentType: 'x' })
    payload[1] = 50
    expect(decodeContentHeader(payload)).toEqual({ classId: 50, weight: 0, bodySize: 0, properties: {} })
  })
})
