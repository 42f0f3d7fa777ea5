/**
 * Topic permissions (administrators only), as rabbit_mgmt_wm_topic_permission(s)(_user,_vhost):
 * /api/topic-permissions, /api/topic-permissions/{vhost}/{user}[/{exchange}],
 * /api/users/{user}/topic-permissions and /api/vhosts/{vhost}/topic-permissions.
 *
 * @module
 */
import type { Context } from 'hono'
import type { Management, TopicPermissionSummary } from '../../../../src/api.ts'
import type { HttpEnv } from '../../app.ts'
import { badRequest, notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { guard } from './access.ts'
import { created, existingVhost, param, type RouteContext } from './common.ts'
import type { Json } from './format.ts'
import { listAnswer } from './paging.ts'
import { topicPermissionBody } from './schemas.ts'

export function topicPermissionJson(p: TopicPermissionSummary): Json {
  return { user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read }
}

const SORT = ['vhost', 'user', 'exchange'] as const

/** The user's entries in the vhost; 404 when the user or vhost is missing or there are none (RabbitMQ's resource_exists). */
function existing(c: Context<HttpEnv>, m: Management, exchange?: string): TopicPermissionSummary[] {
  const vhost = param(c, 'vhost')
  const user = param(c, 'user')
  if (!m.hasVhost(vhost) || m.user(user) === undefined) throw notFoundError()
  const list = m.topicPermissions({ vhost, user }).filter((p) => exchange === undefined || p.exchange === exchange)
  if (list.length === 0) throw notFoundError()
  return list
}

export function topicPermissionRoutes(ctx: RouteContext): void {
  const { app, m } = ctx
  const admin = guard('administrator')

  app.get('/topic-permissions', admin, (c) => listAnswer(c, m.topicPermissions().map(topicPermissionJson), SORT))

  app.get('/topic-permissions/:vhost/:user', admin, (c) => listAnswer(c, existing(c, m).map(topicPermissionJson), SORT))

  app.get('/topic-permissions/:vhost/:user/:exchange', admin, (c) =>
    listAnswer(c, existing(c, m, param(c, 'exchange')).map(topicPermissionJson), SORT),
  )

  // 201 when the user had no topic permission in the vhost, else 204 (the resource is the
  // user's topic permissions in the vhost, as in RabbitMQ).
  app.put('/topic-permissions/:vhost/:user', admin, async (c) => {
    const vhost = param(c, 'vhost')
    const user = param(c, 'user')
    if (!m.hasVhost(vhost) || m.user(user) === undefined) throw badRequest('vhost_or_user_not_found')
    const body = await parseJson(c, topicPermissionBody)
    const hadAny = m.topicPermissions({ vhost, user }).length > 0
    m.setTopicPermission({ vhost, user, exchange: body.exchange, write: body.write, read: body.read })
    return created(c, !hadAny)
  })

  app.delete('/topic-permissions/:vhost/:user', admin, (c) => {
    existing(c, m)
    m.deleteTopicPermissions(param(c, 'vhost'), param(c, 'user'))
    return c.body(null, 204)
  })

  app.delete('/topic-permissions/:vhost/:user/:exchange', admin, (c) => {
    const exchange = param(c, 'exchange')
    existing(c, m, exchange)
    m.deleteTopicPermissions(param(c, 'vhost'), param(c, 'user'), exchange)
    return c.body(null, 204)
  })

  app.get('/users/:user/topic-permissions', admin, (c) => {
    const user = param(c, 'user')
    if (m.user(user) === undefined) throw notFoundError()
    return listAnswer(c, m.topicPermissions({ user }).map(topicPermissionJson), SORT)
  })

  app.get('/vhosts/:vhost/topic-permissions', admin, (c) => {
    const vhost = existingVhost(c, m)
    return listAnswer(c, m.topicPermissions({ vhost }).map(topicPermissionJson), SORT)
  })
}
