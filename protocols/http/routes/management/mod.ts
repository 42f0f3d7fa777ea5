/**
 * The RabbitMQ-compatible management HTTP API, mounted at /api by app.ts. Paths, field names,
 * status codes and `{error, reason}` bodies follow RabbitMQ's management plugin (vhost "/" is
 * "%2F" in paths; the default exchange is "amq.default"), so its tools and dashboards work
 * against Warren. Each resource has its own file; they all read the core through
 * `broker.management` (api.Management).
 *
 * @module
 */
import { Hono } from 'hono'
import type { HttpDeps, HttpEnv } from '../../app.ts'
import { bindingRoutes } from './bindings.ts'
import type { RouteContext } from './common.ts'
import { connectionRoutes } from './connections.ts'
import { definitionRoutes } from './definitions.ts'
import { exchangeRoutes } from './exchanges.ts'
import { healthRoutes } from './health.ts'
import { nodeRoutes } from './nodes.ts'
import { overviewRoutes } from './overview.ts'
import { policyRoutes } from './policies.ts'
import { queueRoutes } from './queues.ts'
import { topicPermissionRoutes } from './topic_permissions.ts'
import { userRoutes } from './users.ts'
import { vhostRoutes } from './vhosts.ts'

/** Every management route; authentication and tag checks are per route (access.ts). */
export function managementRoutes(deps: HttpDeps): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>()
  const m = deps.broker.management
  const listeners = deps.listeners ?? (() => [])
  const ctx: RouteContext = { app, broker: deps.broker, m, node: m.overview().node, listeners }
  overviewRoutes(ctx)
  healthRoutes(ctx)
  nodeRoutes(ctx)
  policyRoutes(ctx)
  topicPermissionRoutes(ctx)
  vhostRoutes(ctx)
  exchangeRoutes(ctx)
  queueRoutes(ctx)
  bindingRoutes(ctx)
  connectionRoutes(ctx)
  userRoutes(ctx)
  definitionRoutes(ctx)
  return app
}
