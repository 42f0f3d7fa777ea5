/**
 * The node and what the management UI and rabbitmqadmin read about the installation:
 * /api/nodes (Warren is one node), /api/extensions, /api/cluster-name and /api/auth, as
 * rabbit_mgmt_wm_nodes, _node, _extensions, _cluster_name and _auth.
 *
 * @module
 */
import type { NodeSummary } from '../../../../src/api.ts'
import { notFoundError } from '../../errors.ts'
import { guard } from './access.ts'
import { param, type RouteContext } from './common.ts'
import type { Json } from './format.ts'
import { exchangeTypeJson } from './overview.ts'

/** The SASL mechanisms the AMQP adapter offers (protocols/amqp/auth.ts MECHANISMS). */
const AUTH_MECHANISMS = [
  { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
  { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
]

/**
 * rabbit_mgmt_format of a node. Memory is what Warren's memory alarm measures (message bodies
 * held) against its high watermark; what Warren cannot tell (Erlang processes, socket limit) is 0.
 */
export function nodeJson(n: NodeSummary, now: number): Json {
  return {
    name: n.name,
    type: 'disc',
    running: true,
    being_drained: false,
    os_pid: String(n.pid),
    mem_used: n.memoryUsed,
    mem_limit: n.memoryLimit,
    mem_alarm: n.memoryAlarm,
    disk_free: n.diskFree,
    disk_free_limit: n.diskFreeLimit,
    disk_free_alarm: n.diskAlarm,
    fd_used: n.fdUsed,
    fd_total: n.fdTotal,
    sockets_used: n.connections,
    sockets_total: 0,
    proc_used: 0,
    proc_total: 0,
    uptime: Math.max(0, now - n.startedAt),
    run_queue: 0,
    processors: n.processors,
    rates_mode: 'basic',
    partitions: [],
    applications: [],
    contexts: [],
    enabled_plugins: [],
    exchange_types: n.exchangeTypes.map(exchangeTypeJson),
    auth_mechanisms: AUTH_MECHANISMS,
  }
}

export function nodeRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  app.get('/nodes', guard('monitoring'), (c) => c.json([nodeJson(m.node(), Date.now())]))

  app.get('/nodes/:node', guard('monitoring'), (c) => {
    const n = m.node()
    if (param(c, 'node') !== n.name) throw notFoundError()
    return c.json(nodeJson(n, Date.now()))
  })

  // Plugins' UI extensions: Warren has none.
  app.get('/extensions', guard('management'), (c) => c.json([]))

  app.get('/cluster-name', guard('management'), (c) => c.json({ name: ctx.node }))

  // Read by the UI before login, so no credentials (as RabbitMQ). Both the 3.10 (UAA) and the
  // later (OAuth 2) spelling: Warren has password login only.
  app.get('/auth', (c) => c.json({ oauth_enabled: false, enable_uaa: false, uaa_client_id: '', uaa_location: '' }))
}
