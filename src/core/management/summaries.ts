/**
 * Read-only summaries of vhosts, exchanges, queues and bindings for the management API. Each
 * summary costs a few small objects: listing 10,000 queues must stay well under 300 ms.
 *
 * @module
 */
import type {
  Activity,
  BindingSummary,
  ExchangeSummary,
  MessageStats,
  QueueLengths,
  QueueSummary,
  VhostSummary,
} from '../../api.ts'
import { CoreConnection } from '../connection.ts'
import type { Exchange } from '../exchange.ts'
import type { Queue } from '../queue.ts'
import { ActivitySampler, copyCounters } from '../stats.ts'
import type { Vhost } from '../vhost.ts'

/** Something with counters and a lazily created sampler (queues, vhosts). */
interface Sampled {
  readonly stats: MessageStats
  sampler: ActivitySampler | undefined
}

/** Samples `target` now and builds its lengths and activity. */
export function sampleActivity(
  target: Sampled,
  ready: number,
  unacked: number,
  now: number,
): { lengths: QueueLengths; activity: Activity } {
  target.sampler ??= new ActivitySampler()
  const messages = ready + unacked
  const { rates, lengthRates } = target.sampler.sample(target.stats, [messages, ready, unacked], now)
  return {
    lengths: {
      messages,
      ready,
      unacked,
      messagesRate: lengthRates[0],
      readyRate: lengthRates[1],
      unackedRate: lengthRates[2],
    },
    activity: { totals: copyCounters(target.stats), rates },
  }
}

export function queueSummary(vhost: string, q: Queue, now: number): QueueSummary {
  const store = q.store
  const { lengths, activity } = sampleActivity(q, store.readyCount, store.outstandingCount, now)
  const owner = q.owner
  return {
    vhost,
    name: q.name,
    type: q.config.type,
    durable: q.durable,
    autoDelete: q.autoDelete,
    exclusive: owner !== null,
    ownerConnection: owner instanceof CoreConnection ? owner.id : undefined,
    args: q.args ?? {},
    policy: q.policy?.name,
    effectivePolicyDefinition: q.policy === undefined ? undefined : { ...q.policy.definition },
    consumers: q.consumers.size,
    activeConsumer: q.consumers.active?.tag,
    readyBytes: store.readyBytes,
    unackedBytes: store.outstandingBytes,
    lengths,
    activity,
  }
}

export function exchangeSummary(vhost: string, x: Exchange): ExchangeSummary {
  return {
    vhost,
    name: x.name,
    type: x.type,
    durable: x.durable,
    autoDelete: x.autoDelete,
    internal: x.internal,
    args: x.args ?? {},
    policy: x.policy?.name,
  }
}

/** Ready and unacknowledged messages over every queue of a vhost. */
export function vhostLengths(vhost: Vhost): { ready: number; unacked: number } {
  let ready = 0
  let unacked = 0
  for (const q of vhost.queues.values()) {
    ready += q.store.readyCount
    unacked += q.store.outstandingCount
  }
  return { ready, unacked }
}

export function vhostSummary(vhost: Vhost, now: number): VhostSummary {
  const { ready, unacked } = vhostLengths(vhost)
  const { lengths, activity } = sampleActivity(vhost, ready, unacked, now)
  const m = vhost.metadata
  return {
    name: vhost.name,
    description: m.description,
    tags: [...m.tags],
    defaultQueueType: m.defaultQueueType,
    lengths,
    activity,
  }
}

/**
 * Every binding of a vhost, the default exchange's implicit ones (to every queue, by its name)
 * first, as RabbitMQ lists them.
 */
export function vhostBindings(vhost: Vhost, out: BindingSummary[]): void {
  const name = vhost.name
  for (const q of vhost.queues.values()) {
    out.push({ vhost: name, source: '', destination: q.name, destinationKind: 'queue', routingKey: q.name, args: {} })
  }
  for (const x of vhost.exchanges.values()) {
    if (x === vhost.defaultExchange) continue
    for (const b of x.router.bindings()) {
      out.push({
        vhost: name,
        source: x.name,
        destination: b.destination.name,
        destinationKind: b.destination.kind,
        routingKey: b.routingKey,
        args: b.args ?? {},
      })
    }
  }
}
