/**
 * Child process: consumes from one or more queues (one channel each) and measures the delivery
 * rate over a fixed window: the clock starts at delivery number `warmup` and stops at
 * `warmup + count`, summed over all queues. Manual acks are sent one per delivery (as PerfTest
 * does by default), coalesced into one socket write per read.
 *
 * Events: `ready` once every consumer is registered, then `result { received, ms, rate }`.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { ACK_FRAME_SIZE, writeAck } from '../amqp/frames.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface ConsumerArgs {
  host: string
  port: number
  queues: string[]
  noAck: boolean
  /** Per-consumer prefetch (basic.qos global=false); ignored with noAck. */
  prefetch: number
  warmup: number
  count: number
}

const ACK_BUFFER = 256 * ACK_FRAME_SIZE

async function main(): Promise<void> {
  const args = roleArgs<ConsumerArgs>()
  const target = args.warmup + args.count
  let received = 0
  let t0 = 0
  let acks = new Uint8Array(ACK_BUFFER)
  let ackView = new DataView(acks.buffer)
  let ackOff = 0
  let client: AmqpClient | null = null

  const flushAcks = (): void => {
    if (ackOff === 0 || !client) return
    // write() keeps the buffer, so start a fresh one rather than reuse it.
    client.write(acks.subarray(0, ackOff))
    acks = new Uint8Array(ACK_BUFFER)
    ackView = new DataView(acks.buffer)
    ackOff = 0
  }

  const finish = (): void => {
    const ms = performance.now() - t0
    flushAcks()
    emit('result', { received, ms, rate: (args.count / ms) * 1000 })
    void client!.close().then(() => exit(0))
  }

  client = await AmqpClient.connect({
    host: args.host,
    port: args.port,
    name: 'bench-consumer',
    hooks: {
      onDeliver(channel, tag) {
        received++
        if (!args.noAck) {
          if (ackOff + ACK_FRAME_SIZE > acks.length) flushAcks()
          ackOff = writeAck(acks, ackView, ackOff, channel, tag, false)
        }
        if (received === args.warmup) t0 = performance.now()
        else if (received === target) finish()
      },
      onReadEnd: flushAcks,
    },
  })
  client.closed.then((err) => err && fail(err))
  if (args.warmup === 0) t0 = performance.now()
  for (let i = 0; i < args.queues.length; i++) {
    const channel = i + 1
    await client.openChannel(channel)
    if (!args.noAck) await client.qos(channel, args.prefetch)
    await client.consume(channel, args.queues[i]!, { noAck: args.noAck })
  }
  emit('ready')
}

main().catch(fail)
