/**
 * Child process: publishes `count` identical messages as fast as the broker takes them.
 *
 * Messages are pre-encoded once and written in batches of ~64 KiB (pipelined basic.publish), so
 * the generator costs little CPU. A batch is written only after the previous one was accepted by
 * the kernel (write backpressure), and in confirm mode at most `confirmWindow` messages are
 * unconfirmed at a time, so memory stays bounded whatever the broker does.
 *
 * Events: `done { sent, confirmed, nacked, ms }`, after connection.close-ok.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { publishFrames } from '../amqp/frames.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface ProducerArgs {
  host: string
  port: number
  exchange: string
  routingKey: string
  count: number
  bodySize: number
  persistent: boolean
  /** 0: no publisher confirms. Otherwise the maximum number of unconfirmed messages. */
  confirmWindow: number
}

const BATCH_BYTES = 64 * 1024

async function main(): Promise<void> {
  const args = roleArgs<ProducerArgs>()
  let confirmed = 0
  let nacked = 0
  let confirmWaiter: (() => void) | null = null
  const client = await AmqpClient.connect({
    host: args.host,
    port: args.port,
    name: 'bench-producer',
    hooks: {
      onConfirm(_ch, tag, multiple, nack) {
        const n = multiple ? tag - confirmed - nacked : 1
        if (nack) nacked += n
        else confirmed += n
        if (confirmWaiter) {
          const w = confirmWaiter
          confirmWaiter = null
          w()
        }
      },
    },
  })
  await client.openChannel(1)
  if (args.confirmWindow > 0) await client.confirmSelect(1)
  client.closed.then((err) => err && fail(err))

  const body = new Uint8Array(args.bodySize).fill(0x61)
  const one = publishFrames(1, args.exchange, args.routingKey, body, args.persistent ? { deliveryMode: 2 } : {}, client.frameMax)
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / one.length))
  const batch = new Uint8Array(one.length * perBatch)
  for (let i = 0; i < perBatch; i++) batch.set(one, i * one.length)

  const t0 = performance.now()
  let sent = 0
  // Bounded: every iteration sends at least one message, or waits for confirms that the broker
  // owes us (the parent's row timeout ends a broker that never answers).
  while (sent < args.count) {
    let n = Math.min(perBatch, args.count - sent)
    if (args.confirmWindow > 0) {
      const room = args.confirmWindow - (sent - confirmed - nacked)
      if (room <= 0) {
        await new Promise<void>((resolve) => (confirmWaiter = resolve))
        continue
      }
      n = Math.min(n, room)
    }
    // The batch never changes, so handing the same buffer to write() repeatedly is safe.
    const ok = client.write(n === perBatch ? batch : batch.subarray(0, n * one.length))
    sent += n
    if (!ok) await client.drained()
  }
  await client.drained()
  if (args.confirmWindow > 0) {
    while (confirmed + nacked < sent) await new Promise<void>((resolve) => (confirmWaiter = resolve))
  }
  // close-ok comes after the broker has processed every publish before it, so `ms` is the time
  // for the broker to take all messages, not just for the kernel to buffer them.
  await client.close(60000)
  const ms = performance.now() - t0
  emit('done', { sent, confirmed, nacked, ms })
  exit(0)
}

main().catch(fail)
