/**
 * Producer process -> queue(s) -> consumer process, counted consumer-side after a warm-up.
 *
 * @module
 */

import { AmqpClient } from '../amqp/client.ts'
import { cpuSeconds, machineBusySeconds, storageWriteBytes } from '../peers/broker.ts'
import { Child } from '../child.ts'
import type { ConsumerArgs } from '../roles/consumer.ts'
import type { ProducerArgs } from '../roles/producer.ts'
import { type RowContext, uniqueName, within } from './row.ts'

export interface ThroughputSpec {
  bodySize: number
  noAck: boolean
  /** Per-consumer prefetch for manual ack. */
  prefetch: number
  /** Delivery mode 2 and durable queues. */
  persistent: boolean
  /** 0: no publisher confirms; else the unconfirmed-message window. */
  confirmWindow: number
  /**
   * 1: the default exchange to one queue; N > 1: a fanout exchange bound to N queues, or with
   * `producerPerQueue` N producer processes, each publishing to its own queue.
   */
  queues: number
  /** One producer process per queue (default exchange, no fan-out): `count` is per producer. */
  producerPerQueue?: boolean
  /** Published messages before the clock starts, and after it (unscaled). */
  warmup: number
  count: number
}

/**
 * Runs one throughput scenario. `rate` is deliveries per second seen by the consumer over the
 * measured window (for fan-out: summed over all queues); `publishRate` is the producer's own
 * rate over the whole run, for diagnosis.
 */
export async function runThroughput(ctx: RowContext, spec: ThroughputSpec): Promise<Record<string, number>> {
  const { host, port } = ctx.broker
  const warmup = Math.max(0, Math.round(spec.warmup * ctx.scale))
  const count = Math.max(1, Math.round(spec.count * ctx.scale))
  const setup = await AmqpClient.connect({ host, port, name: 'bench-setup' })
  await setup.openChannel(1)
  const base = uniqueName('bench')
  const queues: string[] = []
  const exchange = spec.queues > 1 && !spec.producerPerQueue ? `${base}-fanout` : ''
  let consumer: Child | null = null
  let producers: Child[] = []
  try {
    if (exchange) await setup.declareExchange(1, exchange, 'fanout', { durable: spec.persistent })
    for (let i = 0; i < spec.queues; i++) {
      const q = `${base}-q${i}`
      await setup.declareQueue(1, q, { durable: spec.persistent })
      if (exchange) await setup.bindQueue(1, q, exchange, '')
      queues.push(q)
    }
    const consumerArgs: ConsumerArgs = {
      host,
      port,
      queues,
      noAck: spec.noAck,
      prefetch: spec.prefetch,
      warmup: warmup * spec.queues,
      count: count * spec.queues,
    }
    consumer = Child.spawn('./roles/consumer.ts', consumerArgs)
    await consumer.next('ready', 30000)
    const producerArgs = (routingKey: string): ProducerArgs => ({
      host,
      port,
      exchange,
      routingKey,
      count: warmup + count,
      bodySize: spec.bodySize,
      persistent: spec.persistent,
      confirmWindow: spec.confirmWindow,
    })
    const cpu0 = cpuSeconds(ctx.broker.pid)
    const busy0 = machineBusySeconds()
    const written0 = storageWriteBytes(ctx.broker.pid)
    const wall0 = performance.now()
    producers = spec.producerPerQueue ? queues.map((q) => Child.spawn('./roles/producer.ts', producerArgs(q))) : [Child.spawn('./roles/producer.ts', producerArgs(exchange ? '' : queues[0]!))]
    const producerDone = Promise.all(producers.map((p) => p.next('done', ctx.timeoutMs))).then((all) => ({
      sent: all.reduce((n, d) => n + Number(d.sent), 0),
      nacked: all.reduce((n, d) => n + Number(d.nacked ?? 0), 0),
      ms: Math.max(...all.map((d) => Number(d.ms))),
    }))
    // Avoid an unhandled rejection while we are still waiting on the consumer.
    producerDone.catch(() => undefined)
    const result = await consumer.next('result', ctx.timeoutMs)
    const done = await producerDone
    const wall = (performance.now() - wall0) / 1000
    const brokerCores = (cpuSeconds(ctx.broker.pid) - cpu0) / wall
    const busyCores = (machineBusySeconds() - busy0) / wall
    const writtenMB = (storageWriteBytes(ctx.broker.pid) - written0) / (1024 * 1024)
    await Promise.all([consumer.finish(), ...producers.map((p) => p.finish())])
    const clientCores = (consumer.cpuSeconds() + producers.reduce((n, p) => n + p.cpuSeconds(), 0)) / wall
    if (spec.confirmWindow > 0 && Number(done.nacked) > 0) ctx.log(`  ${String(done.nacked)} publishes were nacked`)
    return {
      rate: Number(result.rate),
      publishRate: (Number(done.sent) / Number(done.ms)) * 1000,
      measured: count * spec.queues,
      nacked: Number(done.nacked ?? 0),
      // Where the two cores went during the run (publish start to last confirm/close-ok).
      brokerCores,
      clientCores,
      // Everything else on the machine (other people's test runs…): high values mean a noisy run.
      otherCores: Math.max(0, busyCores - brokerCores - clientCores),
      // Broker writes to storage during the run: near 0 for a "persistent" row means no disk.
      writtenMB,
    }
  } finally {
    await Promise.all([consumer?.finish(), ...producers.map((p) => p.finish())])
    // A broker that has stopped answering must not hang the runner.
    await within(
      (async () => {
        for (const q of queues) await setup.deleteQueue(1, q)
        if (exchange) await setup.deleteExchange(1, exchange)
        await setup.close()
      })(),
      30000,
      'cleanup',
    ).catch((e) => {
      ctx.log(`  cleanup failed: ${(e as Error).message}`)
      setup.destroy()
    })
  }
}
