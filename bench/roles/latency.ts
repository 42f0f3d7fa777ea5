/**
 * Child process: end-to-end latency at a fixed publish rate. Publisher and consumer are two
 * connections in this one process so both ends read the same clock; each body carries its send
 * time (performance.now(), float64 at offset 0). The consumer uses auto-ack.
 *
 * Pacing: a 1 ms timer sends whatever the schedule says is due, so the offered rate stays fixed
 * even when a tick is late (no coordinated omission from a slow broker). Messages sent during the
 * first `warmupSeconds` are not recorded.
 *
 * Events: `ready`, then `result { sent, received, p50, p90, p99, p999, max }` in milliseconds.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { publishFrames } from '../amqp/frames.ts'
import { percentile } from '../stats.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface LatencyArgs {
  host: string
  port: number
  queue: string
  rate: number
  seconds: number
  warmupSeconds: number
  bodySize: number
}

async function main(): Promise<void> {
  const args = roleArgs<LatencyArgs>()
  if (args.bodySize < 8) throw new RangeError('bodySize must hold a float64 timestamp (>= 8)')
  const total = Math.round(args.rate * (args.seconds + args.warmupSeconds))
  const warmupCount = Math.round(args.rate * args.warmupSeconds)
  const samples = new Float64Array(total)
  let received = 0
  let recorded = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => (done = resolve))

  const consumer = await AmqpClient.connect({
    host: args.host,
    port: args.port,
    name: 'bench-latency-consumer',
    hooks: {
      onBody(_ch, view, offset) {
        const sentAt = view.getFloat64(offset)
        if (received++ >= warmupCount) samples[recorded++] = performance.now() - sentAt
        if (received === total) done()
      },
    },
  })
  consumer.closed.then((err) => err && fail(err))
  await consumer.openChannel(1)
  await consumer.consume(1, args.queue, { noAck: true })

  const publisher = await AmqpClient.connect({ host: args.host, port: args.port, name: 'bench-latency-publisher' })
  publisher.closed.then((err) => err && fail(err))
  await publisher.openChannel(1)
  const template = publishFrames(1, '', args.queue, new Uint8Array(args.bodySize), {}, publisher.frameMax)
  // Single-frame body: it is the last bodySize bytes before the frame-end octet.
  const bodyOffset = template.length - 1 - args.bodySize
  emit('ready')

  let sent = 0
  const start = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    const due = Math.min(total, Math.floor(((now - start) / 1000) * args.rate)) - sent
    if (due <= 0) return
    const out = new Uint8Array(template.length * due)
    const view = new DataView(out.buffer)
    for (let i = 0; i < due; i++) {
      out.set(template, i * template.length)
      view.setFloat64(i * template.length + bodyOffset, now)
    }
    sent += due
    // At ~70 B per message a backpressured socket here means the broker has stalled: the
    // consumer-side timeout in the parent reports that, so no extra buffering guard is needed.
    publisher.write(out)
    if (sent >= total) clearInterval(timer)
  }, 1)

  await finished
  const sorted = samples.subarray(0, recorded).sort()
  emit('result', {
    sent,
    received,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? 0,
  })
  await publisher.close()
  await consumer.close()
  exit(0)
}

main().catch(fail)
