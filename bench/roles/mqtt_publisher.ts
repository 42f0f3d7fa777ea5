/**
 * Child process: one MQTT 3.1.1 connection publishes `count` identical messages to `topic` as
 * fast as the broker takes them.
 *
 * PUBLISH packets are pre-encoded once and written in batches of ~64 KiB (pipelined). A batch is
 * written only after the previous one was accepted by the kernel (write backpressure). With
 * QoS 1 at most `window` publishes are unacknowledged at a time, and each batch is renumbered in
 * place (packet ids 1..65535, cycling), so memory stays bounded whatever the broker does.
 *
 * Events: `done { sent, acked, ms }`; `ms` runs to the PINGRESP after the last publish (QoS 0)
 * or the last PUBACK (QoS 1), i.e. until the broker has read every message.
 *
 * @module
 */

import { MqttClient } from '../mqtt/client.ts'
import { publishPacket, setPacketId } from '../mqtt/packets.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface MqttPublisherArgs {
  host: string
  port: number
  clientId: string
  topic: string
  count: number
  bodySize: number
  qos: 0 | 1
  /** QoS 1: most unacknowledged publishes at a time. */
  window: number
}

const BATCH_BYTES = 64 * 1024

async function main(): Promise<void> {
  const args = roleArgs<MqttPublisherArgs>()
  const body = new Uint8Array(args.bodySize).fill(0x61)
  const one = publishPacket(args.topic, body, args.qos)
  const size = one.bytes.length
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / size))
  const batch = new Uint8Array(size * perBatch)
  for (let i = 0; i < perBatch; i++) batch.set(one.bytes, i * size)
  const window = args.qos === 1 ? Math.max(1, args.window) : Number.POSITIVE_INFINITY
  // A full window resumes once a quarter of it (at most one batch) is acknowledged, so a stream
  // of single PUBACKs does not turn into one socket write per message.
  const resumeRoom = Math.max(1, Math.min(perBatch, Math.ceil(window / 4)))
  let acked = 0
  let sent = 0
  /** Every message is sent: wake on each PUBACK read. */
  let done = false
  let waiter: (() => void) | null = null
  const client = await MqttClient.connect({
    host: args.host,
    port: args.port,
    clientId: args.clientId,
    hooks: {
      onPuback() {
        acked++
      },
      onReadEnd() {
        if (waiter && (done || window - (sent - acked) >= resumeRoom)) {
          const w = waiter
          waiter = null
          w()
        }
      },
    },
  })
  client.closed.then((err) => err && fail(err))

  let nextId = 0

  const t0 = performance.now()
  // Bounded: every iteration sends at least one message, or waits for PUBACKs the broker owes
  // us (the parent's row timeout ends a broker that never answers).
  while (sent < args.count) {
    let n = Math.min(perBatch, args.count - sent)
    if (args.qos === 1) {
      const room = window - (sent - acked)
      if (room <= 0) {
        await new Promise<void>((resolve) => (waiter = resolve))
        continue
      }
      n = Math.min(n, room)
      // Safe to renumber: the previous batch was fully taken by the kernel (see below).
      for (let i = 0; i < n; i++) {
        nextId = (nextId % 0xffff) + 1
        setPacketId(batch, i * size + one.idOffset, nextId)
      }
    }
    const ok = client.write(n === perBatch ? batch : batch.subarray(0, n * size))
    sent += n
    if (!ok) await client.drained()
  }
  await client.drained()
  done = true
  if (args.qos === 1) {
    while (acked < sent) await new Promise<void>((resolve) => (waiter = resolve))
  } else {
    await client.ping()
  }
  const ms = performance.now() - t0
  await client.close(10000)
  emit('done', { sent, acked, ms })
  exit(0)
}

main().catch(fail)
