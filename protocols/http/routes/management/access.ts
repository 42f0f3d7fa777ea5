/**
 * Who may do what, as rabbit_web_dispatch_access_control decides it: every endpoint needs a
 * management-capable tag (administrator, monitoring, policymaker, management); admin endpoints
 * need administrator; vhost endpoints need administrator or access to the vhost; a normal user
 * sees only their own connections and channels, monitors see everyone's, and only
 * administrators close other users' connections. RabbitMQ answers these with 401; Warren with
 * 403, as RabbitMQ plans to.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import type { AuthenticatedUser, Management } from '../../../../src/api.ts'
import type { HttpEnv } from '../../app.ts'
import { requireUser } from '../../auth.ts'
import { forbidden } from '../../errors.ts'

const MANAGEMENT_TAGS = ['administrator', 'monitoring', 'policymaker', 'management'] as const
const MONITOR_TAGS = ['administrator', 'monitoring'] as const

export type Level = 'management' | 'monitoring' | 'policymaker' | 'administrator'

const TAGS: Record<Level, readonly string[]> = {
  management: MANAGEMENT_TAGS,
  monitoring: MONITOR_TAGS,
  policymaker: ['administrator', 'policymaker'],
  administrator: ['administrator'],
}
const REASONS: Record<Level, string> = {
  management: 'Not management user',
  monitoring: 'Not monitor user',
  // rabbit_mgmt_util:is_authorized_policies/2
  policymaker: 'User not authorised to access object',
  administrator: 'Not administrator user',
}

/**
 * Middleware: authentication (401), then a management-capable tag, then the level's own tag
 * (403 with RabbitMQ's reason). CORS preflights pass, as requireUser lets them.
 */
export function guard(level: Level): MiddlewareHandler<HttpEnv> {
  const authenticate = requireUser()
  const needed = [MANAGEMENT_TAGS, TAGS[level]]
  return (c, next) =>
    authenticate(c, async () => {
      if (c.req.method !== 'OPTIONS') {
        const tags = c.var.user.tags
        for (let i = 0; i < needed.length; i++) {
          if (!tags.some((t) => needed[i]!.includes(t))) throw forbidden(REASONS[i === 0 ? 'management' : level])
        }
      }
      await next()
    })
}

export function userOf(c: Context<HttpEnv>): AuthenticatedUser {
  return c.var.user
}

export function isAdmin(user: AuthenticatedUser): boolean {
  return user.tags.includes('administrator')
}

export function isMonitor(user: AuthenticatedUser): boolean {
  return user.tags.some((t) => MONITOR_TAGS.includes(t as (typeof MONITOR_TAGS)[number]))
}

/**
 * is_authorized_vhost: administrators, or users with access to the vhost. A vhost that does not
 * exist passes here, so the route can answer 404.
 */
export function checkVhostAccess(m: Management, user: AuthenticatedUser, vhost: string): void {
  if (isAdmin(user) || !m.hasVhost(vhost) || m.canAccessVhost(vhost, user.name)) return
  throw forbidden('User not authorised to access virtual host')
}

/** Which vhosts' objects a user's lists show (rabbit_mgmt_util:filter_vhost/3). */
export function vhostFilter(m: Management, user: AuthenticatedUser): (vhost: string) => boolean {
  if (isAdmin(user)) return () => true
  return (vhost) => m.canAccessVhost(vhost, user.name)
}

/** filter_user: monitors see every connection, channel and consumer; others only their own. */
export function ownerFilter(user: AuthenticatedUser): (owner: string) => boolean {
  if (isMonitor(user)) return () => true
  return (owner) => owner === user.name
}
