/**
 * /api/health/checks/*, the HTTP counterparts of `rabbitmq-diagnostics check_*`
 * (rabbit_mgmt_wm_health_check_*): 200 {"status": "ok", …} when the check passes, 503
 * {"status": "failed", "reason": …} when it does not, 400 for a malformed argument. The
 * cluster-wide alarms check sits with the overview (overview.ts).
 *
 * @module
 */
import type { Context } from 'hono'
import type { HttpEnv } from '../../app.ts'
import { badRequest } from '../../errors.ts'
import { guard } from './access.ts'
import type { RouteContext } from './common.ts'
import type { Json } from './format.ts'

/** rabbit_mgmt_wm_health_check_protocol_listener:normalize_protocol/1, for the protocols Warren serves. */
const PROTOCOL_ALIASES: Record<string, string> = {
  amqp091: 'amqp',
  'amqp0.9.1': 'amqp',
  'amqp0-9-1': 'amqp',
  amqp0_9_1: 'amqp',
  amqp10: 'amqp',
  'amqp1.0': 'amqp',
  'amqp1-0': 'amqp',
  amqp1_0: 'amqp',
  amqps: 'amqp/ssl',
  'mqtt3.1': 'mqtt',
  'mqtt3.1.1': 'mqtt',
  mqtt31: 'mqtt',
  mqtt311: 'mqtt',
  mqtt3_1: 'mqtt',
  mqtt3_1_1: 'mqtt',
  mqtts: 'mqtt/ssl',
  'mqtt+tls': 'mqtt/ssl',
  'mqtt+ssl': 'mqtt/ssl',
  http1: 'http',
  'http1.1': 'http',
  http_api: 'http',
  management: 'http',
  management_ui: 'http',
  ui: 'http',
  cli: 'clustering',
  distribution: 'clustering',
}

export function normalizeProtocol(name: string): string {
  const lower = name.toLowerCase()
  return PROTOCOL_ALIASES[lower] ?? lower
}

const CERTIFICATE_UNITS = new Set(['days', 'weeks', 'months', 'years'])

/** binary_to_integer/1: an optional sign and decimal digits, nothing else. */
function erlangInteger(text: string): number | undefined {
  return /^[+-]?\d{1,15}$/.test(text) ? Number(text) : undefined
}

function failed(c: Context<HttpEnv>, body: Json): Response {
  return c.json({ status: 'failed', ...body }, 503)
}

export function healthRoutes(ctx: RouteContext): void {
  const { app, m, node } = ctx
  const checks = '/health/checks'

  app.get(`${checks}/local-alarms`, guard('management'), (c) => {
    const alarms = m.overview().alarms
    if (alarms.length === 0) return c.json({ status: 'ok' })
    const reason = 'There are alarms in effect on the node'
    return failed(c, { reason, alarms: alarms.map((resource) => ({ node, resource })) })
  })

  // Warren's vhosts have no processes of their own that could be down.
  app.get(`${checks}/virtual-hosts`, guard('management'), (c) => c.json({ status: 'ok' }))

  // No quorum queues and a single node: nothing depends on this node for a quorum.
  app.get(`${checks}/node-is-quorum-critical`, guard('management'), (c) => c.json({ status: 'ok', reason: 'single node cluster' }))

  app.get(`${checks}/protocol-listener/:protocol`, guard('management'), (c) => {
    const protocol = normalizeProtocol(c.req.param('protocol'))
    const protocols = ctx.listeners().map((l) => l.protocol)
    if (protocols.includes(protocol)) return c.json({ status: 'ok', protocol })
    return failed(c, { reason: 'No active listener', missing: protocol, protocols })
  })

  app.get(`${checks}/port-listener/:port`, guard('management'), (c) => {
    const port = erlangInteger(c.req.param('port'))
    if (port === undefined) throw badRequest('Invalid port')
    const ports = ctx.listeners().map((l) => l.port)
    if (ports.includes(port)) return c.json({ status: 'ok', port })
    return failed(c, { reason: 'No active listener', missing: port, ports })
  })

  // Warren's listeners are plain TCP: no certificate can expire. The arguments are still checked.
  app.get(`${checks}/certificate-expiration/:within/:unit`, guard('management'), (c) => {
    if (erlangInteger(c.req.param('within')) === undefined) throw badRequest('Invalid expiration value.')
    if (!CERTIFICATE_UNITS.has(c.req.param('unit').toLowerCase())) {
      throw badRequest('Time unit not recognised. Supported units: days, weeks, months, years.')
    }
    return c.json({ status: 'ok' })
  })
}
