/**
 * The latency phase of the 1,000-subscriber fan-out rows (MQTT and SSE): once the throughput
 * phase is over and every subscriber process has reported, a second MQTT QoS 0 publisher sends
 * at a fixed rate, every body stamped with its send time (bench/stamp.ts), and the subscriber
 * processes measure each delivery's age on arrival. The send schedule is fixed, so a slow broker
 * cannot lower the offered rate; the first `warmupSeconds` of messages are marked as warm-up and
 * not recorded.
 *
 * Publisher and subscribers are different processes: they read the same machine clock
 * (`performance.timeOrigin + performance.now()`), see bench/stamp.ts.
 *
 * @module
 */

import { Child } from '../child.ts'
import { cpuSeconds, machineBusySeconds } from '../peers/broker.ts'
import type { MqttPublisherArgs } from '../roles/mqtt_publisher.ts'
import { LatencyHistogram } from '../stats.ts'
import type { RowContext } from './row.ts'

export interface PacedLatency {
  /** Messages per second from the publisher (deliveries per second = rate x subscribers). */
  rate: number
  /** Recorded seconds (scaled down by --scale below 1, at least 1). */
  seconds: number
  warmupSeconds: number
}

/** Messages the paced publisher sends, and how many of them are warm-up. */
export function pacedMessages(ctx: RowContext, l: PacedLatency): { total: number; warmup: number } {
  const seconds = Math.max(1, l.seconds * Math.min(1, ctx.scale))
  const warmup = Math.round(l.rate * l.warmupSeconds)
  return { total: warmup + Math.round(l.rate * seconds), warmup }
}

/**
 * Runs the paced publisher and waits for every subscriber's `latency` event (each subscriber
 * process sends it once it has counted every delivery it expected, both phases).
 * `latencySamples` should be (total - warm-up messages) x subscribers.
 */
export async function runPacedPhase(
  ctx: RowContext,
  subs: readonly Child[],
  publisher: Pick<MqttPublisherArgs, 'host' | 'port' | 'clientId' | 'topic' | 'bodySize'>,
  l: PacedLatency,
): Promise<Record<string, number>> {
  const { total, warmup } = pacedMessages(ctx, l)
  const args: MqttPublisherArgs = { ...publisher, count: total, qos: 0, window: 0, rate: l.rate, warmupCount: warmup }
  const { pid } = ctx.broker
  const cpu0 = cpuSeconds(pid)
  const busy0 = machineBusySeconds()
  const subsCpu0 = subs.reduce((a, s) => a + s.cpuSeconds(), 0)
  const wall0 = performance.now()
  const pub = Child.spawn('./roles/mqtt_publisher.ts', args)
  try {
    const budget = (total / l.rate) * 1000 + ctx.timeoutMs
    const done = pub.next('done', budget)
    done.catch(() => undefined)
    const results = await Promise.all(subs.map((s) => s.next('latency', budget)))
    await done
    // Where the CPU went during this phase (the publisher's share is small and left out).
    const wall = (performance.now() - wall0) / 1000
    const brokerCores = (cpuSeconds(pid) - cpu0) / wall
    const subscriberCores = (subs.reduce((a, s) => a + s.cpuSeconds(), 0) - subsCpu0) / wall
    const busyCores = (machineBusySeconds() - busy0) / wall
    const hist = new LatencyHistogram()
    for (const r of results) hist.merge(r.hist as [number, number][])
    return {
      latencyRate: l.rate,
      latencyMessages: total - warmup,
      latencySamples: hist.total,
      totalReceived: results.reduce((a, r) => a + Number(r.received), 0),
      p50: hist.percentile(50),
      p90: hist.percentile(90),
      p99: hist.percentile(99),
      p999: hist.percentile(99.9),
      max: hist.percentile(100),
      latencyBrokerCores: brokerCores,
      latencySubscriberCores: subscriberCores,
      latencyBusyCores: busyCores,
    }
  } finally {
    await pub.finish()
  }
}
