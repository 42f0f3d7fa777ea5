/**
 * Child process: one MQTT 3.1.1 connection publishes `count` identical messages to `topic` as
 * fast as the broker takes them.
 *
 * PUBLISH packets are pre-encoded once and written in batches of ~64 KiB (pipelined). A batch is
 * written only after the previous one was accepted by the kernel (write backpressure). With
 * QoS 1 at most `window` publishes are unacknowledged at a time, and each batch is renumbered in
 * place (packet ids 1..65535, cycling), so memory stays bounded whatever the broker does.
 *
 * With `rate` set (QoS 0 only) the publisher is paced instead: a 1 ms timer sends whatever the
 * schedule says is due (a late tick sends more, so the offered rate holds), and every body
 * carries its send time (bench/stamp.ts): marker `W` for the first `warmupCount` messages, `T`
 * (recorded by the subscribers) after them.
 *
 * Events: `done { sent, acked, ms }`; `ms` runs to the PINGRESP after the last publish (QoS 0)
 * or the last PUBACK (QoS 1), i.e. until the broker has read every message.
 *
 * @module
 */

import { MqttClient } from '../mqtt/client.ts'
import { publishPacket, setPacketId } from '../mqtt/packets.ts'
import { RECORDED, STAMP_BYTES, WARMUP, nowMicros, writeStamp } from '../stamp.ts'
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
  /** Paced mode (QoS 0): messages per second, each stamped with its send time. */
  rate?: number
  /** Paced mode: the first messages, stamped but marked as warm-up. */
  warmupCount?: number
}

const BATCH_BYTES = 64 * 1024

async function main(): Promise<void> {
  const args = roleArgs<MqttPublisherArgs>()
  if (args.rate !== undefined) return paced(args)
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

/** Paced, stamped QoS 0 publishing (see the module comment). */
async function paced(args: MqttPublisherArgs): Promise<void> {
  if (args.qos !== 0) throw new Error('paced publishing is QoS 0 only')
  if (args.bodySize < STAMP_BYTES) throw new RangeError(`bodySize must hold a timestamp (>= ${STAMP_BYTES})`)
  const rate = args.rate!
  const warmupCount = args.warmupCount ?? 0
  const template = publishPacket(args.topic, new Uint8Array(args.bodySize).fill(0x61), 0).bytes
  // QoS 0: the body is the packet's tail.
  const bodyOffset = template.length - args.bodySize
  const client = await MqttClient.connect({ host: args.host, port: args.port, clientId: args.clientId })
  client.closed.then((err) => err && fail(err))
  let sent = 0
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(args.count, Math.floor(((performance.now() - t0) / 1000) * rate)) - sent
      if (due <= 0) return
      const out = new Uint8Array(template.length * due)
      const now = nowMicros()
      for (let i = 0; i < due; i++) {
        out.set(template, i * template.length)
        writeStamp(out, i * template.length + bodyOffset, sent + i < warmupCount ? WARMUP : RECORDED, now)
      }
      sent += due
      // A few hundred bytes per tick: a socket that backs up here means the broker stalled, which
      // the subscribers' timeouts report; no extra buffering guard needed.
      client.write(out)
      if (sent >= args.count) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  await client.drained()
  await client.ping()
  const ms = performance.now() - t0
  await client.close(10000)
  emit('done', { sent, acked: 0, ms })
  exit(0)
}

main().catch(fail)
