import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, consumeN, uniq, within } from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

const MiB = 1024 * 1024

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

/** A body whose every byte depends on its position, so a misplaced frame shows up. */
function patterned(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 13)) & 0xff
  return b
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex')
}

describe('bodies larger than frame_max', () => {
  for (const size of [1 * MiB, 5 * MiB]) {
    test(`a ${size / MiB} MiB body round-trips amqplib to amqplib intact`, async () => {
      const q = uniq('large')
      const { ch } = await amqplibChannel(conn)
      await ch.assertQueue(q, { exclusive: true })
      const body = patterned(size, 1)
      ch.sendToQueue(q, body)
      const [msg] = await consumeN(ch, q, 1, { noAck: true, timeout: 10_000 })
      expect(msg!.content.length).toBe(size)
      expect(sha(msg!.content)).toBe(sha(body))
      await ch.close()
    })

    test(`a ${size / MiB} MiB body from amqplib (frame_max 131072) reaches amqp-client (frame_max 8192) intact`, async () => {
      const q = uniq('large-cross')
      const { ch } = await amqplibChannel(conn)
      await ch.assertQueue(q, { exclusive: false })
      const body = patterned(size, 2)
      const client = await clientConnect(broker.amqpUrl)
      try {
        const cch = await client.channel()
        const got: AMQPMessage[] = []
        await cch.basicConsume(q, { noAck: true }, (m) => {
          got.push(m)
        })
        ch.sendToQueue(q, body)
        await waitFor(() => got.length === 1, { timeout: 10_000 })
        const received = got[0]!.body as Uint8Array
        expect(received.length).toBe(size)
        expect(sha(received)).toBe(sha(body))
      } finally {
        await clientCloseQuietly(client)
        await ch.deleteQueue(q)
        await ch.close()
      }
    })

    test(`a ${size / MiB} MiB body from amqp-client (frame_max 8192) reaches amqplib intact`, async () => {
      const q = uniq('large-client')
      const { ch } = await amqplibChannel(conn)
      await ch.assertQueue(q, { exclusive: false })
      const body = patterned(size, 3)
      const client = await clientConnect(broker.amqpUrl)
      try {
        const cch = await client.channel()
        await cch.confirmSelect()
        await cch.basicPublish('', q, body)
      } finally {
        await clientCloseQuietly(client)
      }
      const [msg] = await consumeN(ch, q, 1, { noAck: true, timeout: 10_000 })
      expect(msg!.content.length).toBe(size)
      expect(sha(msg!.content)).toBe(sha(body))
      await ch.deleteQueue(q)
      await ch.close()
    })
  }

  test('bodies at the frame boundary round-trip intact', async () => {
    const q = uniq('boundary')
    const { ch } = await amqplibChannel(conn)
    await ch.assertQueue(q, { exclusive: true })
    // frame_max 131072 leaves 131064 payload bytes per body frame.
    const sizes = [0, 1, 131063, 131064, 131065, 2 * 131064, 2 * 131064 + 1]
    for (const [i, size] of sizes.entries()) ch.sendToQueue(q, patterned(size, i))
    const got = await consumeN(ch, q, sizes.length, { noAck: true, timeout: 10_000 })
    expect(got.map((m) => m.content.length)).toEqual(sizes)
    for (const [i, size] of sizes.entries()) expect(sha(got[i]!.content)).toBe(sha(patterned(size, i)))
    await ch.close()
  })

  test('many mid-sized messages interleaved on two channels keep their bodies apart', async () => {
    const q1 = uniq('interleave-1')
    const q2 = uniq('interleave-2')
    const { ch: a } = await amqplibChannel(conn)
    const { ch: b } = await amqplibChannel(conn)
    await a.assertQueue(q1, { exclusive: true })
    await a.assertQueue(q2, { exclusive: true })
    for (let i = 0; i < 10; i++) {
      a.sendToQueue(q1, patterned(300_000, 100 + i))
      b.sendToQueue(q2, patterned(300_000, 200 + i))
    }
    const gotA = await consumeN(a, q1, 10, { noAck: true, timeout: 10_000 })
    const gotB = await consumeN(b, q2, 10, { noAck: true, timeout: 10_000 })
    gotA.forEach((m: ConsumeMessage, i) => expect(sha(m.content)).toBe(sha(patterned(300_000, 100 + i))))
    gotB.forEach((m: ConsumeMessage, i) => expect(sha(m.content)).toBe(sha(patterned(300_000, 200 + i))))
    await a.close()
    await b.close()
  })
})

describe('max message size', () => {
  test('basic.publish over the configured max message size closes the channel with 406 PRECONDITION_FAILED', async () => {
    const small = await startBroker({ maxMessageSize: 2 * MiB })
    const own = await amqplibConnect(small.amqpUrl)
    try {
      const { ch, watch } = await amqplibChannel(own.conn)
      const { queue } = await ch.assertQueue('', { exclusive: true })
      ch.sendToQueue(queue, Buffer.alloc(2 * MiB, 1))
      expect((await ch.checkQueue(queue)).messageCount).toBe(1)
      ch.sendToQueue(queue, Buffer.alloc(3 * MiB, 1))
      const error = await within(watch.closed, 5000, 'channel close')
      expect(error?.code).toBe(406)
      expect(error?.message).toContain(`PRECONDITION_FAILED - message size ${3 * MiB} is larger than configured max size ${2 * MiB}`)
      // The connection survives a channel error.
      const { ch: ch2 } = await amqplibChannel(own.conn)
      expect((await ch2.checkQueue(queue)).messageCount).toBe(1)
    } finally {
      await closeQuietly(own.conn)
      await small.stop()
    }
  })
})
