import { describe, expect, test } from 'bun:test'
import type { Message } from '../../../src/api.ts'
import { decodePayload, encodePayload, eventData, eventDataLine, propertiesFromJson, propertiesToJson } from './message_json.ts'

const text = (s: string) => new TextEncoder().encode(s)

describe('message_json', () => {
  test('properties round-trip between the management JSON and the core shape', () => {
    const json = {
      content_type: 'application/json',
      headers: { a: 1, b: 'x', nested: { c: [true, null] } },
      delivery_mode: 2,
      priority: 5,
      correlation_id: 'c1',
      reply_to: 'r',
      expiration: '1000',
      message_id: 'm1',
      timestamp: 1700000000,
      type: 't',
      user_id: 'guest',
      app_id: 'app',
    }
    const core = propertiesFromJson(json)
    expect(core.contentType).toBe('application/json')
    expect(core.deliveryMode).toBe(2)
    expect(core.userId).toBe('guest')
    expect(propertiesToJson(core)).toEqual(json)
  })

  test('table values that JSON lacks are shown as numbers and text', () => {
    const out = propertiesToJson({
      headers: {
        big: 2n ** 60n,
        small: 7n,
        bytes: text('hi'),
        when: new Date(1_700_000_000_000),
        dec: { kind: 'decimal', scale: 2, value: 1234 },
        f: { kind: 'typed-number', type: 'f', value: 1.5 },
      },
    })
    expect(out.headers).toEqual({ big: (2n ** 60n).toString(), small: 7, bytes: 'hi', when: 1_700_000_000, dec: 12.34, f: 1.5 })
  })

  test('encodePayload keeps UTF-8 as text and falls back to base64', () => {
    expect(encodePayload(text('héllo'), 'auto')).toEqual({ payload: 'héllo', encoding: 'string' })
    expect(encodePayload(new Uint8Array([0xff, 0x00]), 'auto')).toEqual({ payload: '/wA=', encoding: 'base64' })
    expect(encodePayload(text('hi'), 'base64')).toEqual({ payload: 'aGk=', encoding: 'base64' })
  })

  test('decodePayload refuses malformed base64', () => {
    expect(decodePayload('aGk=', 'base64')).toEqual(text('hi'))
    expect(decodePayload('a', 'base64')).toBeUndefined()
    expect(decodePayload('!!!!', 'base64')).toBeUndefined()
    expect(decodePayload('hi', 'string')).toEqual(text('hi'))
  })

  test('eventData carries exchange, routing key, topic, properties, payload and the redelivered flag', () => {
    const message: Message = { exchange: 'amq.topic', routingKey: 'a.b', properties: { contentType: 'text/plain' }, body: text('x') }
    expect(JSON.parse(eventData(message, true, 'auto'))).toEqual({
      exchange: 'amq.topic',
      routing_key: 'a.b',
      topic: 'a/b',
      properties: { content_type: 'text/plain' },
      payload: 'x',
      payload_encoding: 'string',
      redelivered: true,
    })
    expect(JSON.parse(eventData(message, false, 'base64')).payload).toBe('eA==')
    expect(JSON.parse(eventData(message, false, 'auto')).redelivered).toBe(false)
  })

  test('eventDataLine is the encoded data line, built once per message and mode', () => {
    const message: Message = { exchange: 'amq.topic', routingKey: 'a.b', properties: {}, body: text('é') }
    const decoder = new TextDecoder()
    const line = eventDataLine(message, false, 'auto')
    expect(decoder.decode(line)).toBe(`data: ${eventData(message, false, 'auto')}\n\n`)
    expect(eventDataLine(message, false, 'auto')).toBe(line)
    expect(decoder.decode(eventDataLine(message, true, 'base64'))).toBe(`data: ${eventData(message, true, 'base64')}\n\n`)
    const other: Message = { ...message, body: text('y') }
    expect(JSON.parse(decoder.decode(eventDataLine(other, false, 'auto')).slice(6)).payload).toBe('y')
    expect(eventDataLine(message, false, 'auto')).toBe(line)
  })
})
