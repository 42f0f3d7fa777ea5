/**
 * End-to-end latency at a fixed offered rate (see bench/roles/latency.ts for the method).
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { Child } from '../child.ts'
import type { LatencyArgs } from '../roles/latency.ts'
import { type RowContext, uniqueName, within } from './row.ts'

export async function runLatency(ctx: RowContext, opts: { rate: number; seconds: number; warmupSeconds: number; bodySize: number }): Promise<Record<string, number>> {
  const { host, port } = ctx.broker
  const setup = await AmqpClient.connect({ host, port, name: 'bench-setup' })
  await setup.openChannel(1)
  const queue = uniqueName('bench-latency')
  await setup.declareQueue(1, queue)
  // Scale shortens the run but keeps the rate: the rate is the point of this row.
  const seconds = Math.max(1, opts.seconds * Math.min(1, ctx.scale))
  const args: LatencyArgs = { host, port, queue, rate: opts.rate, seconds, warmupSeconds: opts.warmupSeconds, bodySize: opts.bodySize }
  const child = Child.spawn('./roles/latency.ts', args)
  try {
    await child.next('ready', 30000)
    const r = await child.next('result', (seconds + opts.warmupSeconds) * 1000 + ctx.timeoutMs)
    return {
      p50: Number(r.p50),
      p90: Number(r.p90),
      p99: Number(r.p99),
      p999: Number(r.p999),
      max: Number(r.max),
      sent: Number(r.sent),
    }
  } finally {
    await child.finish()
    await within(
      (async () => {
        await setup.deleteQueue(1, queue)
        await setup.close()
      })(),
      30000,
      'cleanup',
    ).catch(() => setup.destroy())
  }
}
