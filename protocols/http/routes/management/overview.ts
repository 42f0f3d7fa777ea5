/**
 * /api/overview (totals and message rates), /api/health/checks/alarms and
 * /api/aliveness-test/{vhost}, as rabbit_mgmt_wm_overview, rabbit_mgmt_wm_health_check_alarms
 * and rabbit_mgmt_wm_aliveness_test.
 *
 * @module
 */
import type { BrokerOverview, Connection, Session } from '../../../../src/api.ts'
import { peerAddress } from '../../../../src/runtime/http.ts'
import type { ListenerInfo } from '../../app.ts'
import { checkVhostAccess, guard, userOf } from './access.ts'
import { existingVhost, type RouteContext } from './common.ts'
import { type Json, lengthFields, messageStats, RABBITMQ_API_VERSION } from './format.ts'

/** rabbit_exchange_type_*:description/0. */
export function exchangeTypeJson(name: string): Json {
  const known = ['direct', 'fanout', 'topic', 'headers'].includes(name)
  return {
    name,
    description: known ? `AMQP ${name} exchange, as per the AMQP specification` : '',
    enabled: true,
  }
}

/** RabbitMQ's listener objects (rabbit_mgmt_format:listener/1). */
export function listenerJson(l: ListenerInfo, node: string): Json {
  return { node, protocol: l.protocol, ip_address: l.host, port: l.port, socket_opts: {} }
}

export function overviewJson(o: BrokerOverview, listeners: readonly ListenerInfo[] = []): Json {
  return {
    management_version: RABBITMQ_API_VERSION,
    rates_mode: 'basic',
    sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
    exchange_types: o.exchangeTypes.map(exchangeTypeJson),
    product_name: o.productName,
    product_version: o.productVersion,
    rabbitmq_version: RABBITMQ_API_VERSION,
    release_series_support_status: 'supported',
    cluster_name: o.node,
    erlang_version: '',
    erlang_full_version: '',
    disable_stats: false,
    is_op_policy_updating_enabled: false,
    enable_queue_totals: true,
    message_stats: messageStats(o.activity, 'broker'),
    queue_totals: lengthFields(o.lengths),
    object_totals: {
      connections: o.totals.connections,
      channels: o.totals.sessions,
      consumers: o.totals.consumers,
      exchanges: o.totals.exchanges,
      queues: o.totals.queues,
    },
    statistics_db_event_queue: 0,
    node: o.node,
    started_at: o.startedAt,
    listeners: listeners.map((l) => listenerJson(l, o.node)),
    contexts: [],
  }
}

const ALIVENESS_QUEUE = 'aliveness-test'
const ALIVENESS_PAYLOAD = 'test_message'
const noEvents = {
  deliver() {},
  flush() {},
  settled() {},
  rejected() {},
  consumerCancelled() {},
  closed() {},
}

export function overviewRoutes(ctx: RouteContext): void {
  const { app, m, broker } = ctx

  app.get('/overview', guard('management'), (c) => c.json(overviewJson(m.overview(), ctx.listeners())))

  app.get('/health/checks/alarms', guard('management'), (c) => {
    const o = m.overview()
    if (o.alarms.length === 0) return c.json({ status: 'ok' })
    const alarms = o.alarms.map((resource) => ({ node: o.node, resource }))
    return c.json({ status: 'failed', reason: 'There are alarms in effect in the cluster', alarms }, 503)
  })

  // Declares the queue "aliveness-test", publishes to it and gets the message back, as a client
  // would (the queue stays, as in RabbitMQ).
  app.get('/aliveness-test/:vhost', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    const user = userOf(c)
    checkVhostAccess(m, user, vhost)
    let connection: Connection | undefined
    try {
      connection = broker.connect({ protocol: 'http', vhost, user, remoteAddress: peerAddress(c).address })
      const session: Session = connection.openSession(noEvents)
      session.declareQueue(ALIVENESS_QUEUE)
      // A message left by an earlier, interrupted test must not be mistaken for this one.
      session.purgeQueue(ALIVENESS_QUEUE)
      session.publish({
        exchange: '',
        routingKey: ALIVENESS_QUEUE,
        properties: {},
        body: new TextEncoder().encode(ALIVENESS_PAYLOAD),
      })
      const got = session.get(ALIVENESS_QUEUE, { noAck: true })
      const text = got === null ? undefined : new TextDecoder().decode(got.delivery.message.body)
      if (text !== ALIVENESS_PAYLOAD) return c.json({ status: 'failed', reason: 'aliveness test message not received' }, 503)
      return c.json({ status: 'ok' })
    } finally {
      connection?.close()
    }
  })
}
