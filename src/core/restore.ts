/**
 * Start-up recovery of one vhost's durable exchanges, queues and bindings from the definitions
 * store, before any client connects. Goes around topology.ts's checks on purpose: these were
 * checked when they were declared. A durable queue's store recovers its messages as the queue
 * is created.
 *
 * @module
 */
import { log } from '../log.ts'
import type { VhostDefinitions } from '../store/definitions_model.ts'
import { getExchangeType } from './exchange_type.ts'
import { parsePolicy } from './policy.ts'
import { queueConfig } from './queue_args.ts'
import type { Vhost } from './vhost.ts'

export function restoreVhost(vhost: Vhost, defs: VhostDefinitions): void {
  // Policies first, so every exchange and queue starts with its effective policy.
  for (const p of defs.policies.values()) {
    try {
      vhost.putPolicy(parsePolicy(vhost.name, p.name, { pattern: p.pattern, definition: p.definition, priority: p.priority, 'apply-to': p.applyTo }))
    } catch (error) {
      log.error('Cannot restore a policy', { vhost: vhost.name, policy: p.name, error: String(error) })
    }
  }
  for (const x of defs.exchanges.values()) {
    if (getExchangeType(x.type) === undefined) {
      log.error('Cannot restore an exchange of an unknown type', { vhost: vhost.name, exchange: x.name, type: x.type })
      continue
    }
    vhost.addExchange({ name: x.name, type: x.type, durable: true, autoDelete: x.autoDelete, internal: x.internal, args: x.args })
  }
  for (const q of defs.queues.values()) {
    try {
      vhost.addQueue({ name: q.name, durable: true, autoDelete: q.autoDelete, owner: null, args: q.args, config: queueConfig(q.args) })
    } catch (error) {
      // Its files could not be read at all: the rest of the broker still starts.
      log.error('Cannot restore a queue', { vhost: vhost.name, queue: q.name, error: String(error) })
    }
  }
  for (const b of defs.bindings.values()) {
    const source = vhost.exchanges.get(b.source)
    const destination = b.destinationKind === 'queue' ? vhost.queues.get(b.destination) : vhost.exchanges.get(b.destination)
    if (source === undefined || destination === undefined) continue
    vhost.bind(source, destination, b.routingKey, b.args)
  }
}
