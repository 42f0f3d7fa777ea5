/**
 * Broker memory per idle connection: VmRSS of the broker process with N open AMQP connections
 * (handshake done, no channel, heartbeats off) minus its RSS just before they were opened.
 *
 * RSS has no "settled" event to await, so both readings follow a fixed settle time; the runner gives
 * every row a fresh broker, so no earlier row's garbage blurs the baseline.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { rssBytes } from '../peers/broker.ts'
import type { RowContext } from './row.ts'

const MB = 1024 * 1024

export async function runIdleConnections(ctx: RowContext, opts: { connections: number; concurrency: number; settleMs: number }): Promise<Record<string, number>> {
  const { host, port, pid } = ctx.broker
  await settle(opts.settleMs)
  const idle = rssBytes(pid)
  const clients: AmqpClient[] = []
  try {
    // Open in waves of `concurrency`: bounded by `connections`.
    for (let i = 0; i < opts.connections; i += opts.concurrency) {
      const wave = Math.min(opts.concurrency, opts.connections - i)
      const opened = await Promise.all(Array.from({ length: wave }, (_, j) => AmqpClient.connect({ host, port, name: `bench-idle-${i + j}`, timeout: ctx.timeoutMs })))
      clients.push(...opened)
    }
    await settle(opts.settleMs)
    const loaded = rssBytes(pid)
    return {
      deltaMB: (loaded - idle) / MB,
      idleMB: idle / MB,
      loadedMB: loaded / MB,
      perConnectionKB: (loaded - idle) / 1024 / opts.connections,
    }
  } finally {
    for (let i = 0; i < clients.length; i += opts.concurrency) {
      await Promise.all(clients.slice(i, i + opts.concurrency).map((c) => c.close(5000).catch(() => c.destroy())))
    }
  }
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
