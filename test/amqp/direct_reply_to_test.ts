import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChannelModel, ConsumeMessage } from 'amqplib'
import type { AMQPMessage } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import {
  amqplibChannel,
  amqplibConnect,
  clientCloseQuietly,
  clientConnect,
  closeQuietly,
  rejectsWithCode,
  uniq,
  within,
} from '../helpers/amqp.ts'
import { waitFor } from '../helpers/wait.ts'

const REPLY_TO = 'amq.rabbitmq.reply-to'

let broker: TestBroker
let serverConn: ChannelModel
let clientConn: ChannelModel

beforeAll(async () => {
  broker = await startBroker()
  ;({ conn: serverConn } = await amqplibConnect(broker.amqpUrl))
  ;({ conn: clientConn } = await amqplibConnect(broker.amqpUrl))
})

afterAll(async () => {
  await closeQuietly(serverConn)
  await closeQuietly(clientConn)
  await broker?.stop()
})

/** An RPC server on its own connection: answers each request with "reply:<body>". */
async function startRpcServer(queue: string): Promise<{ seenReplyTo: string[] }> {
  const ch = await serverConn.createChannel()
  await ch.assertQueue(queue, { exclusive: true })
  const seenReplyTo: string[] = []
  await ch.consume(
    queue,
    (req) => {
      if (!req) return
      seenReplyTo.push(req.properties.replyTo as string)
      ch.sendToQueue(req.properties.replyTo as string, Buffer.from(`reply:${req.content.toString()}`), {
        correlationId: req.properties.correlationId as string,
      })
    },
    { noAck: true },
  )
  return { seenReplyTo }
}

describe('direct reply-to', () => {
  test('amq.rabbitmq.reply-to RPC round trip (amqplib)', async () => {
    const q = uniq('rpc')
    const server = await startRpcServer(q)
    const { ch } = await amqplibChannel(clientConn)
    const replies: ConsumeMessage[] = []
    const { consumerTag } = await ch.consume(REPLY_TO, (m) => m && replies.push(m), { noAck: true })
    ch.sendToQueue(q, Buffer.from('ping'), { replyTo: REPLY_TO, correlationId: 'c-1' })
    ch.sendToQueue(q, Buffer.from('pong'), { replyTo: REPLY_TO, correlationId: 'c-2' })
    await waitFor(() => replies.length === 2)
    expect(replies.map((r) => r.content.toString())).toEqual(['reply:ping', 'reply:pong'])
    expect(replies.map((r) => r.properties.correlationId)).toEqual(['c-1', 'c-2'])
    expect(replies.map((r) => r.fields.consumerTag)).toEqual([consumerTag, consumerTag])
    expect(replies.map((r) => r.fields.redelivered)).toEqual([false, false])
    // The server saw the reply-to rewritten to a per-channel pseudo queue name.
    expect(server.seenReplyTo).toHaveLength(2)
    expect(server.seenReplyTo[0]).toStartWith(`${REPLY_TO}.`)
    expect(server.seenReplyTo[0]!.length).toBeGreaterThan(REPLY_TO.length + 1)
    expect(server.seenReplyTo[1]).toBe(server.seenReplyTo[0])
    await ch.close()
  })

  test('amq.rabbitmq.reply-to RPC round trip (amqp-client)', async () => {
    const q = uniq('rpc-client')
    await startRpcServer(q)
    const client = await clientConnect(broker.amqpUrl)
    try {
      const ch = await client.channel()
      const replies: AMQPMessage[] = []
      await ch.basicConsume(REPLY_TO, { noAck: true }, (m) => {
        replies.push(m)
      })
      await ch.basicPublish('', q, 'hello', { replyTo: REPLY_TO, correlationId: 'abc' })
      await waitFor(() => replies.length === 1)
      expect(replies[0]!.bodyString()).toBe('reply:hello')
      expect(replies[0]!.properties.correlationId).toBe('abc')
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('two channels get distinct reply-to names and only their own replies', async () => {
    const q = uniq('rpc-two')
    const server = await startRpcServer(q)
    const { ch: a } = await amqplibChannel(clientConn)
    const { ch: b } = await amqplibChannel(clientConn)
    const gotA: string[] = []
    const gotB: string[] = []
    await a.consume(REPLY_TO, (m) => m && gotA.push(m.content.toString()), { noAck: true })
    await b.consume(REPLY_TO, (m) => m && gotB.push(m.content.toString()), { noAck: true })
    a.sendToQueue(q, Buffer.from('from-a'), { replyTo: REPLY_TO })
    b.sendToQueue(q, Buffer.from('from-b'), { replyTo: REPLY_TO })
    await waitFor(() => gotA.length === 1 && gotB.length === 1)
    expect(gotA).toEqual(['reply:from-a'])
    expect(gotB).toEqual(['reply:from-b'])
    expect(new Set(server.seenReplyTo).size).toBe(2)
    await a.close()
    await b.close()
  })

  test('publishing with reply-to amq.rabbitmq.reply-to without a reply consumer is refused with 406', async () => {
    const q = uniq('rpc-no-consumer')
    const { ch, watch } = await amqplibChannel(clientConn)
    await ch.assertQueue(q, { exclusive: true })
    ch.sendToQueue(q, Buffer.from('x'), { replyTo: REPLY_TO })
    const error = await within(watch.closed, 3000, 'channel close')
    expect(error?.code).toBe(406)
    expect(error?.message).toContain('PRECONDITION_FAILED - fast reply consumer does not exist')
  })

  test('basic.consume of amq.rabbitmq.reply-to without no-ack is refused with 406', async () => {
    const { ch } = await amqplibChannel(clientConn)
    await rejectsWithCode(ch.consume(REPLY_TO, () => {}, { noAck: false }), 406, 'PRECONDITION_FAILED - reply consumer cannot acknowledge')
  })

  test('a second reply consumer on the same channel is refused with 406', async () => {
    const { ch } = await amqplibChannel(clientConn)
    await ch.consume(REPLY_TO, () => {}, { noAck: true })
    await rejectsWithCode(ch.consume(REPLY_TO, () => {}, { noAck: true }), 406, 'PRECONDITION_FAILED - reply consumer already set')
  })

  test('a reply to a channel that is gone is dropped without error', async () => {
    const q = uniq('rpc-gone')
    const { ch: requester } = await amqplibChannel(clientConn)
    await requester.consume(REPLY_TO, () => {}, { noAck: true })
    const { ch: serverCh, watch } = await amqplibChannel(serverConn)
    await serverCh.assertQueue(q, { exclusive: true })
    requester.sendToQueue(q, Buffer.from('req'), { replyTo: REPLY_TO })
    const [req] = await (async () => {
      const got: ConsumeMessage[] = []
      await serverCh.consume(q, (m) => m && got.push(m), { noAck: true })
      await waitFor(() => got.length === 1)
      return got
    })()
    await requester.close()
    serverCh.sendToQueue(req!.properties.replyTo as string, Buffer.from('too late'))
    await serverCh.checkQueue(q)
    expect(watch.isClosed()).toBe(false)
    await serverCh.close()
  })
})
