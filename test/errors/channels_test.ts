import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { assertBrokerServes } from '../helpers/amqp.ts'
import { RawAmqp, methodFrame, queueDeclareFrame, shortstr, u16, u8 } from '../helpers/raw_amqp.ts'

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

describe('channel state errors', () => {
  test('a method on a channel that was never opened gets connection.close 504 CHANNEL_ERROR', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake()
    raw.write(queueDeclareFrame(5, 'never-opened'))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(504)
    expect(close.text).toBe("CHANNEL_ERROR - expected 'channel.open'")
    expect([close.classId, close.methodId]).toEqual([50, 10])
    await raw.waitClosed(6000)
  })

  test('channel.open on a channel that is already open gets connection.close 504 CHANNEL_ERROR', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake()
    await raw.openChannel(1)
    raw.write(methodFrame(1, 20, 10, shortstr('')))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(504)
    expect(close.text).toBe("CHANNEL_ERROR - second 'channel.open' seen")
    await raw.waitClosed(6000)
  })

  test('opening more channels than the negotiated channel_max gets connection.close 530 NOT_ALLOWED', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake({ channelMax: 2 })
    await raw.openChannel(1)
    await raw.openChannel(2)
    raw.write(methodFrame(3, 20, 10, shortstr('')))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(530)
    // RabbitMQ: "number of channels opened (2) has reached the negotiated channel_max (2)".
    expect(close.text).toStartWith('NOT_ALLOWED - ')
    expect(close.text).toContain('negotiated channel_max (2)')
    await raw.waitClosed(6000)
  })

  test('channel.open with an id above channel_max gets connection.close 530 NOT_ALLOWED', async () => {
    // The spec allows ids 1..channel-max. RabbitMQ itself only counts open channels and would
    // accept this one; Warren follows the spec here (a deliberate, documented difference).
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake({ channelMax: 4 })
    raw.write(methodFrame(9, 20, 10, shortstr('')))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(530)
    expect(close.text).toContain('negotiated channel_max (4)')
    await raw.waitClosed(6000)
  })

  test('a channel freed by channel.close can be opened again under channel_max', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      await raw.handshake({ channelMax: 1 })
      await raw.openChannel(1)
      raw.write(methodFrame(1, 20, 40, Buffer.concat([u16(200), shortstr('bye'), u16(0), u16(0)])))
      await raw.expectMethod(20, 41)
      await raw.openChannel(1)
    } finally {
      raw.destroy()
    }
  })

  test('an unknown method gets connection.close 540 NOT_IMPLEMENTED or 503 COMMAND_INVALID', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake()
    await raw.openChannel(1)
    raw.write(methodFrame(1, 60, 99, u8(0)))
    const close = await raw.expectConnectionClose()
    // The spec leaves the choice open; either hard error is acceptable, silence is not.
    expect([503, 540]).toContain(close.code)
    await raw.waitClosed(6000)
  })

  test('an unexpected method on channel 0 gets connection.close 504 CHANNEL_ERROR', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake()
    // connection.tune-ok again, long after tuning.
    raw.write(methodFrame(0, 10, 31, Buffer.concat([u16(0), Buffer.from([0, 2, 0, 0]), u16(0)])))
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(504)
    expect(close.text).toBe('CHANNEL_ERROR - unexpected method in connection state running')
    await raw.waitClosed(6000)
  })

  test('a channel error closes only that channel; the connection keeps working', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      await raw.handshake()
      await raw.openChannel(1)
      await raw.openChannel(2)
      // queue.declare passive of a missing queue: 404 on channel 1 only.
      raw.write(methodFrame(1, 50, 10, Buffer.concat([u16(0), shortstr('no-such-queue'), u8(1), Buffer.from([0, 0, 0, 0])])))
      const close = await raw.expectChannelClose(1)
      expect(close.code).toBe(404)
      expect(close.text).toBe("NOT_FOUND - no queue 'no-such-queue' in vhost '/'")
      expect([close.classId, close.methodId]).toEqual([50, 10])
      raw.write(queueDeclareFrame(2, ''))
      await raw.expectMethod(50, 11)
      await raw.openChannel(1)
    } finally {
      raw.destroy()
    }
  })

  test('frames on a channel after the server closed it are ignored until close-ok', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      await raw.handshake()
      await raw.openChannel(1)
      raw.write(methodFrame(1, 50, 10, Buffer.concat([u16(0), shortstr('missing'), u8(1), Buffer.from([0, 0, 0, 0])])))
      const f = await raw.expectMethod(20, 40)
      expect(f.channel).toBe(1)
      // The client has not seen the close yet and sends more work on channel 1: it must be dropped.
      raw.write(queueDeclareFrame(1, ''))
      raw.write(methodFrame(1, 20, 41))
      await raw.openChannel(1)
      raw.write(queueDeclareFrame(1, ''))
      await raw.expectMethod(50, 11)
    } finally {
      raw.destroy()
    }
  })
})
