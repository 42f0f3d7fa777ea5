/**
 * /api/vhosts: list (what the user may see), show, create or update (PUT, administrators),
 * delete, and a vhost's permissions, connections and channels.
 *
 * @module
 */
import { notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { checkVhostAccess, guard, isMonitor, ownerFilter, userOf } from './access.ts'
import { created, param, type RouteContext } from './common.ts'
import { channelJson, connectionJson, permissionJson, vhostJson } from './format.ts'
import { listAnswer } from './paging.ts'
import { vhostBody } from './schemas.ts'

/** "a, b" or ["a", "b"] to a list, as RabbitMQ reads vhost tags. */
function tagList(tags: string | string[]): string[] {
  return (typeof tags === 'string' ? tags.split(',') : tags).map((t) => t.trim()).filter((t) => t !== '')
}

export function vhostRoutes(ctx: RouteContext): void {
  const { app, m, node } = ctx

  app.get('/vhosts', guard('management'), (c) => {
    const user = userOf(c)
    // Monitors learn of every vhost; others see those they may use (list_visible_vhosts/1).
    const visible = isMonitor(user) ? () => true : (name: string) => m.canAccessVhost(name, user.name)
    return listAnswer(c, m.vhosts().filter((v) => visible(v.name)).map((v) => vhostJson(v, node)), ['name'])
  })

  app.get('/vhosts/:vhost', guard('management'), (c) => {
    const name = param(c, 'vhost')
    const user = userOf(c)
    if (!isMonitor(user)) checkVhostAccess(m, user, name)
    const v = m.vhost(name)
    if (v === undefined) throw notFoundError()
    return c.json(vhostJson(v, node))
  })

  app.put('/vhosts/:vhost', guard('administrator'), async (c) => {
    const name = param(c, 'vhost')
    const body = await parseJson(c, vhostBody)
    const wasCreated = m.putVhost(
      name,
      {
        description: body.description,
        tags: body.tags === undefined ? undefined : tagList(body.tags),
        defaultQueueType: body.default_queue_type,
      },
      userOf(c).name,
    )
    return created(c, wasCreated)
  })

  app.delete('/vhosts/:vhost', guard('administrator'), (c) => {
    if (!m.deleteVhost(param(c, 'vhost'))) throw notFoundError()
    return c.body(null, 204)
  })

  app.get('/vhosts/:vhost/permissions', guard('administrator'), (c) => {
    const name = param(c, 'vhost')
    if (!m.hasVhost(name)) throw notFoundError()
    return listAnswer(c, m.permissions().filter((p) => p.vhost === name).map(permissionJson), ['vhost', 'user'])
  })

  app.get('/vhosts/:vhost/connections', guard('management'), (c) => {
    const name = param(c, 'vhost')
    if (!m.hasVhost(name)) throw notFoundError()
    checkVhostAccess(m, userOf(c), name)
    const mine = ownerFilter(userOf(c))
    return listAnswer(c, m.connections().filter((x) => x.vhost === name && mine(x.user)).map((x) => connectionJson(x, node)))
  })

  app.get('/vhosts/:vhost/channels', guard('management'), (c) => {
    const name = param(c, 'vhost')
    if (!m.hasVhost(name)) throw notFoundError()
    checkVhostAccess(m, userOf(c), name)
    const mine = ownerFilter(userOf(c))
    const byId = new Map(m.connections().map((x) => [x.id, x]))
    return listAnswer(
      c,
      m
        .sessions()
        .filter((s) => s.vhost === name && mine(s.user))
        .map((s) => channelJson(s, node, byId.get(s.connectionId))),
    )
  })
}
