import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { assertBrokerServes } from '../helpers/amqp.ts'
import {
  FRAME_BODY,
  FRAME_METHOD,
  RawAmqp,
  bodyFrame,
  contentHeaderFrame,
  frame,
  heartbeatFrame,
  methodPayload,
  shortstr,
  u16,
  u32,
  u8,
} from '../helpers/raw_amqp.ts'

// Bytes no well-behaved client sends, written by hand. After each case a real client (amqplib)
// must still get a full publish/consume round trip from the same broker.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterEach(async () => {
  await assertBrokerServes(broker.amqpUrl)
})

afterAll(async () => {
  await broker?.stop()
})

async function connected(): Promise<RawAmqp> {
  const raw = await RawAmqp.open(broker.amqpPort)
  await raw.handshake()
  return raw
}

describe('framing errors', () => {
  test('a frame with a bad end octet gets connection.close 501 FRAME_ERROR, then the socket closes', async () => {
    const raw = await connected()
    raw.write(frame(FRAME_METHOD, 1, methodPayload(20, 10, shortstr('')), 0x00))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(501)
    expect(close.text).toStartWith('FRAME_ERROR - ')
    // RabbitMQ keeps the socket a few seconds for the close to reach the client.
    await raw.waitClosed(6000)
  })

  test('a frame larger than frame_max gets connection.close 501 FRAME_ERROR', async () => {
    const raw = await connected()
    // Only the header: the server must refuse on the declared size, before buffering it.
    raw.write(Buffer.concat([u8(FRAME_BODY), u16(1), u32(200_000)]))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(501)
    expect(close.text).toStartWith('FRAME_ERROR - ')
    await raw.waitClosed(6000)
  })

  test('a frame over a smaller negotiated frame_max gets connection.close 501 FRAME_ERROR', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake({ frameMax: 4096 })
    await raw.openChannel(1)
    raw.write(frame(FRAME_METHOD, 1, methodPayload(50, 10, Buffer.concat([u16(0), shortstr('q'.repeat(200)), u8(0), u32(5000), Buffer.alloc(5000)]))))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(501)
    await raw.waitClosed(6000)
  })

  test('an unknown frame type gets connection.close 501 FRAME_ERROR', async () => {
    const raw = await connected()
    raw.write(frame(9, 0, Buffer.from('??')))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(501)
    await raw.waitClosed(6000)
  })

  test('a truncated frame followed by a hang-up leaves the broker serving', async () => {
    const raw = await connected()
    const whole = frame(FRAME_METHOD, 1, methodPayload(20, 10, shortstr('')))
    raw.write(whole.subarray(0, whole.length - 3))
    raw.destroy()
    await raw.waitClosed()
  })

  test('a truncated protocol header followed by a hang-up leaves the broker serving', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    raw.write(Buffer.from('AMQ'))
    raw.destroy()
    await raw.waitClosed()
  })

  test('a connection dropped in the middle of a message body leaves the broker serving', async () => {
    const raw = await connected()
    await raw.openChannel(1)
    raw.write(Buffer.concat([frame(FRAME_METHOD, 1, methodPayload(60, 40, Buffer.concat([u16(0), shortstr(''), shortstr('nowhere'), u8(0)]))), contentHeaderFrame(1, 100), bodyFrame(1, Buffer.alloc(40))]))
    raw.destroy()
    await raw.waitClosed()
  })
})

describe('unexpected frames', () => {
  test('a content header without basic.publish gets connection.close 505 UNEXPECTED_FRAME', async () => {
    const raw = await connected()
    await raw.openChannel(1)
    raw.write(contentHeaderFrame(1, 10))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(505)
    expect(close.text).toStartWith('UNEXPECTED_FRAME - ')
    await raw.waitClosed(6000)
  })

  test('a body frame without basic.publish gets connection.close 505 UNEXPECTED_FRAME', async () => {
    const raw = await connected()
    await raw.openChannel(1)
    raw.write(bodyFrame(1, Buffer.from('orphan')))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(505)
    await raw.waitClosed(6000)
  })

  test('a method frame where a content header was expected gets connection.close 505 UNEXPECTED_FRAME', async () => {
    const raw = await connected()
    await raw.openChannel(1)
    raw.write(frame(FRAME_METHOD, 1, methodPayload(60, 40, Buffer.concat([u16(0), shortstr(''), shortstr('x'), u8(0)]))))
    raw.write(frame(FRAME_METHOD, 1, methodPayload(20, 40, Buffer.concat([u16(200), shortstr('bye'), u16(0), u16(0)]))))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(505)
    // As RabbitMQ's rabbit_command_assembler: reported against the basic.publish awaiting its content.
    expect(close.text).toBe('UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead')
    expect([close.classId, close.methodId]).toEqual([60, 40])
    await raw.waitClosed(6000)
  })

  test('a heartbeat frame on a channel other than 0 gets connection.close 505 UNEXPECTED_FRAME', async () => {
    const raw = await connected()
    await raw.openChannel(1)
    raw.write(heartbeatFrame(1))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(505)
    expect(close.text).toBe('UNEXPECTED_FRAME - type 8, all octets = <<>>')
    await raw.waitClosed(6000)
  })
})
