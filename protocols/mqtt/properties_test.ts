import { describe, expect, test } from 'bun:test'
import type { Message } from '../../src/api.ts'
import { ANN, publishedQos, toAnnotations, toMessageProperties, toPublishProperties } from './properties.ts'
import { topicMapper } from './topic.ts'

const topics = topicMapper(false)
const bytes = (s: string) => new TextEncoder().encode(s)

function message(properties: Message['properties'], annotations?: Message['annotations']): Message {
  return { exchange: 'amq.topic', routingKey: 'a.b', properties, body: new Uint8Array(0), annotations }
}

describe('toMessageProperties (MQTT -> core, as mc_mqtt)', () => {
  test('QoS 0 is delivery mode 1, QoS 1 and 2 are 2; no properties share one frozen object', () => {
    expect(toMessageProperties(0, undefined, topics)).toEqual({ deliveryMode: 1 })
    expect(toMessageProperties(1, undefined, topics)).toEqual({ deliveryMode: 2 })
    expect(toMessageProperties(2, undefined, topics)).toBe(toMessageProperties(1, undefined, topics))
  })

  test('content type, user properties, response topic, correlation data, message expiry', () => {
    const p = toMessageProperties(
      1,
      {
        contentType: 'application/json',
        userProperties: { k: 'v', dup: ['1', '2'] },
        responseTopic: 'reply/to/me',
        correlationData: bytes('req-1'),
        messageExpiryInterval: 30,
      },
      topics,
    )
    expect(p).toEqual({
      deliveryMode: 2,
      contentType: 'application/json',
      correlationId: 'req-1',
      headers: { k: 'v', dup: ['1', '2'], 'x-reply-to-topic': 'reply.to.me' },
      expiration: '30000',
    })
  })

  test('correlation data that is no valid shortstr becomes header x-correlation-id', () => {
    const binary = new Uint8Array([0, 255, 1])
    const p = toMessageProperties(0, { correlationData: binary }, topics)
    expect(p.correlationId).toBeUndefined()
    expect(p.headers?.['x-correlation-id']).toEqual(binary)
  })

  test('a content type or user property name over 255 bytes is left out of the AMQP properties', () => {
    const long = 'x'.repeat(256)
    const p = toMessageProperties(0, { contentType: long, userProperties: { [long]: 'v', ok: 'v' } }, topics)
    expect(p.contentType).toBeUndefined()
    expect(p.headers).toEqual({ ok: 'v' })
  })

  test('message expiry is capped at the largest expiration the core accepts', () => {
    expect(toMessageProperties(0, { messageExpiryInterval: 0xffffffff }, topics).expiration).toBe('4294967295')
  })
})

describe('toAnnotations', () => {
  const base = Object.freeze({ [ANN.client]: 'c1' })

  test('an ordinary QoS 0/1 publish reuses the connection object', () => {
    expect(toAnnotations(base, 1, false, undefined, 0)).toBe(base)
    expect(toAnnotations(base, 0, false, { userProperties: { a: 'b' } }, 0)).toBe(base)
  })

  test('QoS 2, retain, payload format and expiry are recorded', () => {
    const a = toAnnotations(base, 2, true, { payloadFormatIndicator: true, messageExpiryInterval: 5 }, 1234)
    expect(a).toEqual({ [ANN.client]: 'c1', [ANN.qos]: 2, [ANN.retain]: true, [ANN.payloadFormat]: true, [ANN.published]: 1234 })
  })
})

describe('publishedQos', () => {
  test('annotation 2 wins; otherwise delivery mode 2 is QoS 1', () => {
    expect(publishedQos(message({ deliveryMode: 2 }, { [ANN.qos]: 2 }))).toBe(2)
    expect(publishedQos(message({ deliveryMode: 2 }))).toBe(1)
    expect(publishedQos(message({ deliveryMode: 1 }))).toBe(0)
    expect(publishedQos(message({}))).toBe(0)
  })
})

describe('toPublishProperties (core -> MQTT 5)', () => {
  test('a message without properties has none', () => {
    expect(toPublishProperties(message({ deliveryMode: 2 }), topics, 0)).toBeUndefined()
  })

  test('round trip of what MQTT published', () => {
    const props = {
      contentType: 'text/plain',
      userProperties: { k: 'v', dup: ['1', '2'] },
      responseTopic: 'reply/to',
      correlationData: bytes('c-9'),
      messageExpiryInterval: 60,
      payloadFormatIndicator: true,
    }
    const m: Message = {
      exchange: 'amq.topic',
      routingKey: 'a.b',
      properties: toMessageProperties(1, props, topics),
      body: new Uint8Array(0),
      annotations: toAnnotations({}, 1, false, props, 1000),
    }
    const back = toPublishProperties(m, topics, 1000)
    expect(back).toEqual({ ...props, correlationData: bytes('c-9') })
  })

  test('the expiry counts down with the time the message waited [MQTT-3.3.2-6]', () => {
    const m = message({ expiration: '10000' }, { [ANN.published]: 1000 })
    expect(toPublishProperties(m, topics, 4500)?.messageExpiryInterval).toBe(6)
    expect(toPublishProperties(m, topics, 20000)?.messageExpiryInterval).toBe(0)
  })

  test('AMQP headers become user properties as RabbitMQ converts them', () => {
    const m = message({
      headers: {
        s: 'str',
        n: 42,
        f: 1.5,
        b: true,
        v: null,
        big: 9007199254740993n,
        t: new Date(5000),
        typed: { kind: 'typed-number', type: 'B', value: 7 },
        bin: new Uint8Array([1]),
        table: { x: 1 },
        mixed: ['a', 1],
        nul: 'a\u0000b',
      },
    })
    expect(toPublishProperties(m, topics, 0)?.userProperties).toEqual({
      s: 'str',
      n: '42',
      f: '1.5',
      b: 'true',
      v: '',
      big: '9007199254740993',
      t: '5',
      typed: '7',
    })
  })

  test('an AMQP correlation id and x-reply-to-topic map to correlation data and response topic', () => {
    const m = message({ correlationId: 'abc', headers: { 'x-reply-to-topic': 'r.s' } })
    expect(toPublishProperties(m, topics, 0)).toEqual({ correlationData: bytes('abc'), responseTopic: 'r/s' })
  })

  test('header x-correlation-id is used when there is no correlation id', () => {
    const m = message({ headers: { 'x-correlation-id': new Uint8Array([0, 1]) } })
    expect(toPublishProperties(m, topics, 0)?.correlationData).toEqual(new Uint8Array([0, 1]))
  })
})
