/**
 * Edge cases of the AMQP adapter's state machine, frame by frame against a running broker over
 * TCP: handshake corners, channel error cleanup, empty-name shortcuts, content checks, the order
 * of frames the server writes (return before confirm, consume-ok before deliveries), pipelined
 * transactions and the resource alarm. The raw client (test/helpers/raw_amqp.ts) encodes every
 * frame by hand, so the wire order is what is asserted, not a client library's view of it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, closeQuietly, consumeN, rejectsWithCode, uniq, waitForDepth, within } from '../helpers/amqp.ts'
import {
  FRAME_BODY,
  FRAME_HEADER,
  RawAmqp,
  basicAckFrame,
  basicConsumeFrame,
  basicGetFrame,
  basicPublishFrame,
  bodyFrame,
  confirmSelectFrame,
  connectionCloseFrame,
  contentHeaderFrame,
  decodeClose,
  decodeConnectionStart,
  decodeDeclareOk,
  decodeMessageCount,
  describe as describeFrame,
  methodFrame,
  queueBindFrame,
  queueDeclareFrame,
  queuePurgeFrame,
  table,
  txFrame,
  type Frame,
} from '../helpers/raw_amqp.ts'

let broker: TestBroker
let conn: ChannelModel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn } = await amqplibConnect(broker.amqpUrl))
})

afterAll(async () => {
  await closeQuietly(conn)
  await broker?.stop()
})

async function connected(port = broker.amqpPort): Promise<RawAmqp> {
  const raw = await RawAmqp.open(port)
  await raw.handshake()
  await raw.openChannel(1)
  return raw
}

/** "60.50" for a method, "header" / "body" for content frames, as the server wrote them. */
function label(f: Frame): string {
  if (f.type === FRAME_HEADER) return 'header'
  if (f.type === FRAME_BODY) return 'body'
  if (f.type === 1) return `${f.payload.readUInt16BE(0)}.${f.payload.readUInt16BE(2)}`
  return describeFrame(f)
}

/** The next `count` frames other than heartbeats, labelled. */
async function nextLabels(raw: RawAmqp, count: number): Promise<string[]> {
  const labels: string[] = []
  for (let i = 0; i < count; i++) labels.push(label(await raw.nextMethod()))
  return labels
}

/** A complete basic.publish with a body, as one buffer. */
function publish(channel: number, exchange: string, routingKey: string, body: string, flags = {}): Buffer {
  const bytes = Buffer.from(body)
  return Buffer.concat([basicPublishFrame(channel, exchange, routingKey, flags), contentHeaderFrame(channel, bytes.length), bodyFrame(channel, bytes)])
}

/** queue.declare on `channel`, returning the declare-ok. */
async function declare(raw: RawAmqp, channel: number, queue: string, flags: { passive?: boolean; exclusive?: boolean } = {}) {
  raw.write(queueDeclareFrame(channel, queue, flags))
  return decodeDeclareOk(await raw.expectMethod(50, 11))
}

describe('handshake edge cases', () => {
  test('connection.start offers exactly "PLAIN AMQPLAIN" and names the product Warren', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      const start = decodeConnectionStart(await raw.start())
      expect(start.mechanisms).toBe('PLAIN AMQPLAIN')
      expect(start.locales).toBe('en_US')
      expect(start.serverProperties.product).toBe('Warren')
      expect((start.serverProperties.capabilities as Record<string, unknown>).publisher_confirms).toBe(true)
    } finally {
      raw.destroy()
    }
  })

  test('an AMQPLAIN login (LOGIN/PASSWORD table) opens the connection', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      // AMQPLAIN's response is a field table without its 4-byte length prefix.
      const response = table({ LOGIN: 'guest', PASSWORD: 'guest' }).subarray(4)
      await raw.handshake({ mechanism: 'AMQPLAIN', response })
      await raw.openChannel(1)
    } finally {
      raw.destroy()
    }
  })

  test('an AMQPLAIN login with a wrong password is refused with 403 naming AMQPLAIN', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    raw.sendStartOk({ mechanism: 'AMQPLAIN', response: table({ LOGIN: 'guest', PASSWORD: 'nope' }).subarray(4) })
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(403)
    expect(close.text).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN. For details see the broker logfile.')
    await raw.waitClosed()
  })

  test('start-ok with an unknown mechanism is closed with 503 COMMAND_INVALID against start-ok', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    raw.sendStartOk({ mechanism: 'EXTERNAL', response: Buffer.alloc(0) })
    const close = await raw.expectConnectionClose()
    expect(close).toEqual({ code: 503, text: "COMMAND_INVALID - unknown authentication mechanism 'EXTERNAL'", classId: 10, methodId: 11 })
    await raw.waitClosed()
  })

  test('a refused PLAIN login with authentication_failure_close gets 403 on the wire, then the socket closes', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    raw.sendStartOk({ password: 'nope' })
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(403)
    expect(close.text).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.')
    await raw.waitClosed()
  })

  test('tune-ok raising channel_max above the server proposal is closed with 530 against connection.tune', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    const tune = await raw.startOk()
    raw.tuneOk({ ...tune, channelMax: tune.channelMax + 1 })
    const close = await raw.expectConnectionClose()
    expect(close).toEqual({
      code: 530,
      text: `NOT_ALLOWED - negotiated channel_max = ${tune.channelMax + 1} is higher than the maximum allowed value (${tune.channelMax})`,
      classId: 10,
      methodId: 30,
    })
    await raw.waitClosed()
  })

  test('connection.close from the client gets close-ok, the socket closes and the connection is released', async () => {
    const raw = await connected()
    const { queue } = await declare(raw, 1, '', { exclusive: true })
    const { ch, watch } = await amqplibChannel(conn)
    // While the raw connection lives, its exclusive queue is locked to it.
    await rejectsWithCode(ch.checkQueue(queue), 405)
    await within(watch.closed, 3000, 'channel close')
    raw.write(connectionCloseFrame())
    const closeOk = await raw.expectMethod(10, 51)
    expect(closeOk.channel).toBe(0)
    await raw.waitClosed()
    // Releasing the core connection deleted the exclusive queue.
    const { ch: after } = await amqplibChannel(conn)
    await rejectsWithCode(after.checkQueue(queue), 404)
  })
})

describe('channel edge cases', () => {
  test("a channel error releases that channel's consumer and requeues its unacked delivery", async () => {
    const q = uniq('edge-channel-error')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('held'))
    const raw = await connected()
    try {
      raw.write(basicConsumeFrame(1, q))
      await raw.expectMethod(60, 21)
      await raw.expectMethod(60, 60)
      await raw.next() // header
      await raw.next() // body
      expect((await ch.checkQueue(q)).consumerCount).toBe(1)
      // queue.declare passive of a missing queue: 404 closes channel 1 only.
      raw.write(queueDeclareFrame(1, uniq('missing'), { passive: true }))
      expect((await raw.expectChannelClose(1)).code).toBe(404)
      // The raw connection is still open, yet its channel's delivery is back in the queue.
      const [again] = await consumeN(ch, q, 1, { noAck: true, timeout: 2000 })
      expect(again!.content.toString()).toBe('held')
      expect(again!.fields.redelivered).toBe(true)
      expect((await ch.checkQueue(q)).consumerCount).toBe(0)
      expect(raw.closed).toBe(false)
    } finally {
      raw.destroy()
      await ch.deleteQueue(q)
      await ch.close()
    }
  })

  test('empty queue names on queue.bind and queue.purge mean the queue declared last on the channel', async () => {
    const raw = await connected()
    try {
      const { queue } = await declare(raw, 1, '', { exclusive: true })
      expect(queue).toStartWith('amq.gen-')
      // queue "" and routing key "": the binding key is the queue's name.
      raw.write(queueBindFrame(1, '', 'amq.direct', ''))
      await raw.expectMethod(50, 21)
      raw.write(publish(1, 'amq.direct', queue, 'routed by the shortcut'))
      raw.write(queuePurgeFrame(1, ''))
      expect(decodeMessageCount(await raw.expectMethod(50, 31))).toBe(1)
    } finally {
      raw.destroy()
    }
  })
})

describe('content edge cases', () => {
  test('a content header announcing more than max message size closes the channel with 406 before any body', async () => {
    const small = await startBroker({ maxMessageSize: 1000 })
    const raw = await connected(small.amqpPort)
    try {
      raw.write(Buffer.concat([basicPublishFrame(1, '', 'anywhere'), contentHeaderFrame(1, 1001)]))
      const close = await raw.expectChannelClose(1)
      expect(close).toEqual({
        code: 406,
        text: 'PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000',
        classId: 60,
        methodId: 40,
      })
      // A channel error: the connection carries on, and a body of exactly the maximum is fine.
      await raw.openChannel(2)
      const { queue } = await declare(raw, 2, '', { exclusive: true })
      raw.write(Buffer.concat([basicPublishFrame(2, '', queue), contentHeaderFrame(2, 1000), bodyFrame(2, Buffer.alloc(1000, 1))]))
      expect((await declare(raw, 2, queue, { passive: true })).messageCount).toBe(1)
    } finally {
      raw.destroy()
      await small.stop()
    }
  })

  test('basic.publish immediate=true closes the connection (channel 0) with 540 against basic.publish', async () => {
    const raw = await connected()
    raw.write(basicPublishFrame(1, '', 'anywhere', { immediate: true }))
    const f = await raw.expectMethod(10, 50)
    expect(f.channel).toBe(0)
    raw.write(methodFrame(0, 10, 51))
    expect(decodeClose(f)).toEqual({ code: 540, text: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 })
    await raw.waitClosed()
  })
})

describe('frame order', () => {
  test('an unroutable mandatory publish on a confirm channel: basic.return and its content precede basic.ack', async () => {
    const raw = await connected()
    try {
      raw.write(confirmSelectFrame(1))
      await raw.expectMethod(85, 11)
      raw.write(publish(1, 'amq.direct', uniq('nowhere'), 'bounce', { mandatory: true }))
      expect(await nextLabels(raw, 4)).toEqual(['60.50', 'header', 'body', '60.80'])
    } finally {
      raw.destroy()
    }
  })

  test('basic.consume-ok is written before the deliveries the consume starts', async () => {
    const q = uniq('edge-consume-ok')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('one'))
    ch.sendToQueue(q, Buffer.from('two'))
    await waitForDepth(ch, q, 2)
    const raw = await connected()
    try {
      raw.write(basicConsumeFrame(1, q, { noAck: true }))
      expect(await nextLabels(raw, 7)).toEqual(['60.21', '60.60', 'header', 'body', '60.60', 'header', 'body'])
    } finally {
      raw.destroy()
      await ch.deleteQueue(q)
      await ch.close()
    }
  })
})

describe('transactions, pipelined', () => {
  test('tx.rollback drops the publishes and acks before it; tx.commit applies only what follows', async () => {
    const raw = await connected()
    try {
      const { queue } = await declare(raw, 1, '', { exclusive: true })
      // All in one write. The ack of an unknown tag would close the channel with 406 if it reached
      // the queue; inside the transaction it is buffered and then dropped by the rollback.
      raw.write(
        Buffer.concat([
          txFrame(1, 'select'),
          publish(1, '', queue, 'rolled back'),
          basicAckFrame(1, 7),
          txFrame(1, 'rollback'),
          publish(1, '', queue, 'committed'),
          txFrame(1, 'commit'),
        ]),
      )
      expect(await nextLabels(raw, 3)).toEqual(['90.11', '90.31', '90.21'])
      raw.write(basicGetFrame(1, queue, true))
      const getOk = await raw.expectMethod(60, 71)
      expect(getOk.payload.readUInt32BE(getOk.payload.length - 4)).toBe(0)
      await raw.next() // header
      const body = await raw.next()
      expect(body.payload.toString()).toBe('committed')
    } finally {
      raw.destroy()
    }
  })
})

describe('resource alarm', () => {
  test('during an alarm a connection that does not publish is neither blocked nor paused', async () => {
    const alarmed = await startBroker({ memoryHighWatermark: 1_000_000 })
    const q = uniq('edge-alarm')
    const admin = await amqplibConnect(alarmed.amqpUrl)
    const publisher = await amqplibConnect(alarmed.amqpUrl)
    const raw = await connected(alarmed.amqpPort)
    try {
      const blocked = new Promise<string>((resolve) => publisher.conn.once('blocked', resolve))
      const ach = await admin.conn.createChannel()
      await ach.assertQueue(q, { durable: false })
      const pch = await publisher.conn.createChannel()
      for (let i = 0; i < 4; i++) pch.sendToQueue(q, Buffer.alloc(400_000, i))
      expect(await within(blocked, 3000, 'connection.blocked to the publisher')).toBe('low on memory')
      // The alarm is on. The raw connection (which asked for connection.blocked) is still read and
      // answered, and gets no connection.blocked: expectMethod fails on any other method.
      for (let i = 0; i < 3; i++) await declare(raw, 1, '', { exclusive: true })
      expect(raw.receivedBytes().includes(Buffer.from([0x00, 0x0a, 0x00, 0x3c]))).toBe(false)
    } finally {
      raw.destroy()
      // Deleting the queue clears the alarm, which unblocks the publisher so it can close. Bounded
      // and quiet, so that a failure above is what gets reported, not a hang here.
      const quietly = (p: Promise<unknown>, what: string) => within(p, 1500, what).catch(() => {})
      await quietly(admin.conn.createChannel().then((ch) => ch.deleteQueue(q)), 'queue.delete')
      await quietly(closeQuietly(publisher.conn), 'publisher close')
      await quietly(closeQuietly(admin.conn), 'admin close')
      await alarmed.stop()
    }
  })
})
