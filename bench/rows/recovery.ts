/**
 * Crash recovery (issue 5): fill a durable queue with persistent messages (publisher confirms,
 * no consumer), SIGKILL the broker, start it again on the same data directory and time from the
 * spawn until `queue.declare passive` answers with the full count. Then the broker's RSS with
 * that backlog, after recovery.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { Child } from '../child.ts'
import { rssBytes } from '../peers/broker.ts'
import type { ProducerArgs } from '../roles/producer.ts'
import { type RowContext, uniqueName } from './row.ts'

export interface RecoverySpec {
  bodySize: number
  /** Messages left in the queue (unscaled). */
  count: number
  confirmWindow: number
  /** Wait before reading RSS after recovery, in ms. */
  settleMs: number
}

export async function runRecovery(ctx: RowContext, spec: RecoverySpec): Promise<Record<string, number>> {
  const broker = ctx.broker
  if (!broker.killAndRestart) throw new Error(`${broker.name} cannot be killed and restarted by the harness`)
  const count = Math.max(1, Math.round(spec.count * ctx.scale))
  const queue = uniqueName('bench-recovery')
  const setup = await AmqpClient.connect({ host: broker.host, port: broker.port, name: 'bench-setup' })
  await setup.openChannel(1)
  await setup.declareQueue(1, queue, { durable: true })
  await setup.close()

  const args: ProducerArgs = { host: broker.host, port: broker.port, exchange: '', routingKey: queue, count, bodySize: spec.bodySize, persistent: true, confirmWindow: spec.confirmWindow }
  const producer = Child.spawn('./roles/producer.ts', args)
  let done
  try {
    done = await producer.next('done', ctx.timeoutMs)
  } finally {
    await producer.finish()
  }
  if (Number(done.confirmed) !== count) throw new Error(`only ${String(done.confirmed)} of ${count} publishes were confirmed`)
  const fillRate = (count / Number(done.ms)) * 1000
  const rssBeforeMB = rssBytes(broker.pid) / 1e6

  const { spawnedAt, readyAt } = await broker.killAndRestart()
  // Poll until the queue answers with every message (RabbitMQ: until the node accepts AMQP at
  // all, then until the queue has been recovered).
  const deadline = spawnedAt + ctx.timeoutMs
  let recovered = -1
  for (;;) {
    if (performance.now() > deadline) throw new Error(`queue not recovered within ${ctx.timeoutMs} ms (last count ${recovered})`)
    let client: AmqpClient | null = null
    try {
      client = await AmqpClient.connect({ host: broker.host, port: broker.port, name: 'bench-recovery' })
      await client.openChannel(1)
      recovered = (await client.declareQueue(1, queue, { passive: true, durable: true })).messages
    } catch {
      recovered = -1
    }
    const at = performance.now()
    if (recovered === count) {
      // The queue is left in place: the broker and its data dir go away after the row.
      client?.destroy()
      client = null
      const recoveryMs = at - spawnedAt
      await Bun.sleep(spec.settleMs)
      const rssMB = rssBytes(broker.pid) / 1e6
      return { recoveryMs, readyLineMs: readyAt === undefined ? Number.NaN : readyAt - spawnedAt, rssMB, rssBeforeMB, recovered, fillRate }
    }
    client?.destroy()
    await Bun.sleep(recovered < 0 ? 20 : 50)
  }
}
