/**
 * User policies (/api/policies, rabbit_mgmt_wm_policies and rabbit_mgmt_wm_policy), and what
 * RabbitMQ configures at runtime and Warren does not have: operator policies, runtime and
 * global parameters, vhost and user limits, feature flags. Those lists answer
 * empty in RabbitMQ's shapes, with RabbitMQ's access rules, so tools that read them work;
 * single objects are 404; writes get a 400 that says why, instead of a bare 404.
 *
 * @module
 */
import type { PolicySummary } from '../../../../src/api.ts'
import { z } from 'zod'
import { parseJson } from '../../schemas.ts'
import { badRequest, notFoundError } from '../../errors.ts'
import { checkVhostAccess, guard, type Level, userOf, vhostFilter } from './access.ts'
import { created, existingVhost, param, type RouteContext } from './common.ts'

const QUEUE_ARGUMENTS = 'x-message-ttl, x-max-length, x-dead-letter-exchange …'

/** Why each kind of write is refused. */
export const UNSUPPORTED = {
  operatorPolicies: `Warren does not support operator policies: set queue arguments (${QUEUE_ARGUMENTS}) when declaring the queue instead`,
  parameters: 'Warren does not support runtime parameters (federation, shovels and other plugins are not available)',
  globalParameters: 'Warren does not support global runtime parameters',
  vhostLimits: 'Warren does not support virtual host limits',
  userLimits: 'Warren does not support user limits',
} as const

/** A policy in RabbitMQ's JSON. */
export function policyJson(p: PolicySummary): Record<string, unknown> {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition, priority: p.priority }
}

/** The PUT body; the values are checked by the broker, with RabbitMQ's texts. */
const policyBody = z
  .object({ pattern: z.unknown().optional(), definition: z.unknown().optional(), priority: z.unknown().optional(), 'apply-to': z.unknown().optional() })
  .loose()

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

  const policymaker = guard('policymaker')
  app.get('/policies', policymaker, (c) => {
    const visible = vhostFilter(m, userOf(c))
    return c.json(m.policies().filter((p) => visible(p.vhost)).map(policyJson))
  })
  app.get('/policies/:vhost', policymaker, (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    return c.json(m.policies(vhost).map(policyJson))
  })
  app.get('/policies/:vhost/:name', policymaker, (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const p = m.policy(vhost, param(c, 'name'))
    if (p === undefined) throw notFoundError()
    return c.json(policyJson(p))
  })
  app.put('/policies/:vhost/:name', policymaker, async (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    const body = await parseJson(c, policyBody)
    // rabbit_mgmt_wm_policy: pattern and definition are required keys.
    for (const key of ['pattern', 'definition'] as const) {
      if (body[key] === undefined) throw badRequest(`key_missing: ${key}`)
    }
    return created(c, m.putPolicy(vhost, name, body))
  })
  app.delete('/policies/:vhost/:name', policymaker, (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    if (!m.deletePolicy(vhost, param(c, 'name'))) throw notFoundError()
    return c.body(null, 204)
  })

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

  // Warren has no feature flags to enable: every feature it has is always on.
  emptyList('/feature-flags', 'administrator')
}
