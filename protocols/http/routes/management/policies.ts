/**
 * What RabbitMQ configures at runtime and Warren does not have: policies, operator policies,
 * runtime and global parameters, vhost and user limits, topic permissions, feature flags. The
 * lists answer empty in RabbitMQ's shapes, with RabbitMQ's access rules, so tools that read them
 * work; single objects are 404; writes get a 400 that says why, instead of a bare 404.
 *
 * @module
 */
import { badRequest, notFoundError } from '../../errors.ts'
import { checkVhostAccess, guard, type Level, userOf } from './access.ts'
import { existingVhost, param, type RouteContext } from './common.ts'

const QUEUE_ARGUMENTS = 'x-message-ttl, x-max-length, x-dead-letter-exchange …'

/** Why each kind of write is refused. */
export const UNSUPPORTED = {
  policies: `Warren does not support policies: set queue arguments (${QUEUE_ARGUMENTS}) when declaring the queue instead`,
  operatorPolicies: `Warren does not support operator policies: set queue arguments (${QUEUE_ARGUMENTS}) when declaring the queue instead`,
  parameters: 'Warren does not support runtime parameters (federation, shovels and other plugins are not available)',
  globalParameters: 'Warren does not support global runtime parameters',
  vhostLimits: 'Warren does not support virtual host limits',
  userLimits: 'Warren does not support user limits',
  topicPermissions: 'Warren does not support topic permissions',
} as const

export function policyRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  /** GET of a list that is always empty; `vhost` routes check the vhost exists and is visible. */
  const emptyList = (path: string, level: Level, vhost = false): void => {
    app.get(path, guard(level), (c) => {
      if (vhost) checkVhostAccess(m, userOf(c), existingVhost(c, m))
      return c.json([])
    })
  }
  /** One object of a kind Warren never has: GET and DELETE 404, PUT 400 with `reason`. */
  const noObject = (path: string, level: Level, reason: string): void => {
    const auth = guard(level)
    app.get(path, auth, () => {
      throw notFoundError()
    })
    app.delete(path, auth, () => {
      throw notFoundError()
    })
    app.put(path, auth, () => {
      throw badRequest(reason)
    })
  }

  emptyList('/policies', 'policymaker')
  emptyList('/policies/:vhost', 'policymaker', true)
  noObject('/policies/:vhost/:name', 'policymaker', UNSUPPORTED.policies)

  emptyList('/operator-policies', 'administrator')
  emptyList('/operator-policies/:vhost', 'administrator', true)
  noObject('/operator-policies/:vhost/:name', 'administrator', UNSUPPORTED.operatorPolicies)

  emptyList('/parameters', 'policymaker')
  emptyList('/parameters/:component', 'policymaker')
  emptyList('/parameters/:component/:vhost', 'policymaker', true)
  noObject('/parameters/:component/:vhost/:name', 'policymaker', UNSUPPORTED.parameters)

  emptyList('/global-parameters', 'administrator')
  noObject('/global-parameters/:name', 'administrator', UNSUPPORTED.globalParameters)

  emptyList('/vhost-limits', 'management')
  emptyList('/vhost-limits/:vhost', 'management', true)
  noObject('/vhost-limits/:vhost/:name', 'administrator', UNSUPPORTED.vhostLimits)

  emptyList('/user-limits', 'administrator')
  app.get('/user-limits/:user', guard('administrator'), (c) => {
    if (m.user(param(c, 'user')) === undefined) throw notFoundError()
    return c.json([])
  })
  noObject('/user-limits/:user/:name', 'administrator', UNSUPPORTED.userLimits)

  emptyList('/topic-permissions', 'administrator')
  noObject('/topic-permissions/:vhost/:user', 'administrator', UNSUPPORTED.topicPermissions)
  emptyList('/vhosts/:vhost/topic-permissions', 'administrator', true)
  app.get('/users/:user/topic-permissions', guard('administrator'), (c) => {
    if (m.user(param(c, 'user')) === undefined) throw notFoundError()
    return c.json([])
  })

  // Warren has no feature flags to enable: every feature it has is always on.
  emptyList('/feature-flags', 'administrator')
}
