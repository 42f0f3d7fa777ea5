/**
 * Child process: `connections` MQTT 3.1.1 subscribers (clean sessions) on one topic filter,
 * counting PUBLISH packets without decoding them. The clock starts at delivery number `warmup`
 * and stops at `warmup + count`, summed over this process's connections. With QoS 1 every
 * delivery is acknowledged with its own PUBACK, coalesced into one socket write per read.
 *
 * With `latencyCount` > 0 a second phase follows the first: `latencyCount` more deliveries whose
 * bodies carry their send time (bench/stamp.ts, marker `T`; `W` marks unrecorded warm-up), sent
 * at a fixed rate by a second publisher the parent starts once every subscriber process is done.
 *
 * A broker that drops messages would leave the count short forever, so once deliveries have
 * started, `quietMs` without a new one ends the role with an error naming the shortfall (the gap
 * between the two phases excepted).
 *
 * Events: `ready` once every SUBACK is in, then `result { received, ms, rate }`, then with a
 * second phase `latency { received, samples, hist }` (a histogram the parent merges).
 *
 * @module
 */

import { readDigits } from '../http/scanner.ts'
import { MqttClient } from '../mqtt/client.ts'
import { PUBACK_SIZE, publishPacketId, writePuback } from '../mqtt/packets.ts'
import { RECORDED, STAMP_DIGITS, elapsedMs, nowMicros } from '../stamp.ts'
import { LatencyHistogram } from '../stats.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface MqttSubscriberArgs {
  host: string
  port: number
  clientIdPrefix: string
  connections: number
  topic: string
  qos: 0 | 1
  /** Totals over all of this process's connections. */
  warmup: number
  count: number
  /** Stamped deliveries expected after `warmup + count` (phase 2); 0 (default) for none. */
  latencyCount?: number
  quietMs: number
}

const ACK_BUFFER = 1024 * PUBACK_SIZE
const CONNECT_WAVE = 50

async function main(): Promise<void> {
  const args = roleArgs<MqttSubscriberArgs>()
  const target = args.warmup + args.count
  const latencyCount = args.latencyCount ?? 0
  const total = target + latencyCount
  const hist = new LatencyHistogram()
  let received = 0
  let t0 = 0
  let finished = false
  /** Between the phases: quiet is expected until the paced publisher starts. */
  let between = false
  const clients: MqttClient[] = []

  /** The last expected delivery is in: the connection that read it flushes its acks, then finish(). */
  let done = false
  const finish = (): void => {
    if (finished) return
    finished = true
    void Promise.all(clients.map((c) => c.close(5000))).then(() => exit(0))
  }

  const counted = (buf: Uint8Array, offset: number, size: number, flags: number): void => {
    received++
    if (received === args.warmup) t0 = performance.now()
    else if (received === target) {
      const ms = performance.now() - t0
      emit('result', { received, ms, rate: (args.count / ms) * 1000 })
      if (latencyCount === 0) done = true
      else between = true
      return
    }
    if (received > target) {
      between = false
      // The body is the packet's tail: after the topic (and the packet id at QoS > 0).
      const body = offset + 2 + ((buf[offset]! << 8) | buf[offset + 1]!) + ((flags & 0x06) !== 0 ? 2 : 0)
      if (body < offset + size && buf[body] === RECORDED) {
        const sent = readDigits(buf, body + 1, STAMP_DIGITS)
        if (!Number.isNaN(sent)) hist.record(elapsedMs(sent, nowMicros()))
      }
      if (received === total) {
        emit('latency', { received, samples: hist.total, hist: hist.pairs() })
        done = true
      }
    }
  }

  const connectOne = async (i: number): Promise<MqttClient> => {
    // Each connection batches its own PUBACKs: they must go back on the socket they answer.
    let acks = new Uint8Array(ACK_BUFFER)
    let ackOff = 0
    let client: MqttClient | null = null
    const flushAcks = (): void => {
      if (ackOff === 0 || !client) return
      // write() keeps the buffer, so start a fresh one rather than reuse it.
      client.write(acks.subarray(0, ackOff))
      acks = new Uint8Array(ACK_BUFFER)
      ackOff = 0
    }
    client = await MqttClient.connect({
      host: args.host,
      port: args.port,
      clientId: `${args.clientIdPrefix}-${i}`,
      hooks: {
        onPublish(flags, buf, offset, size) {
          if ((flags & 0x06) !== 0) {
            if (ackOff + PUBACK_SIZE > acks.length) flushAcks()
            ackOff = writePuback(acks, ackOff, publishPacketId(buf, offset))
          }
          counted(buf, offset, size, flags)
          if (done && !finished) {
            flushAcks()
            finish()
          }
        },
        onReadEnd: flushAcks,
      },
    })
    client.closed.then((err) => err && !finished && fail(err))
    const granted = await client.subscribe(args.topic, args.qos)
    if (granted !== args.qos) throw new Error(`SUBSCRIBE granted QoS ${granted}, asked for ${args.qos}`)
    return client
  }

  if (args.warmup === 0) t0 = performance.now()
  // In waves: bounded by `connections`.
  for (let i = 0; i < args.connections; i += CONNECT_WAVE) {
    const wave = Math.min(CONNECT_WAVE, args.connections - i)
    clients.push(...(await Promise.all(Array.from({ length: wave }, (_, j) => connectOne(i + j)))))
  }

  // Stall detector, no per-packet cost: compares the count between ticks.
  let last = -1
  let quietSince = performance.now()
  setInterval(() => {
    if (finished) return
    if (received !== last || received === 0 || between) {
      last = received
      quietSince = performance.now()
    } else if (performance.now() - quietSince > args.quietMs) {
      fail(new Error(`received ${received} of ${total} deliveries, then nothing for ${Math.round(args.quietMs / 1000)} s (messages dropped?)`))
    }
  }, 250).unref()
  emit('ready')
}

main().catch(fail)
