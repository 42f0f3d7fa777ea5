/**
 * /api/connections (DELETE force-closes one, with the X-Reason header as the reason),
 * /api/channels (sessions) and /api/consumers. A normal user sees and closes only their own
 * connections; monitors see all; administrators close any (is_authorized_user/4).
 *
 * @module
 */
import type { ConnectionSummary } from '../../../../src/api.ts'
import { forbidden, notFoundError } from '../../errors.ts'
import { checkVhostAccess, guard, isAdmin, ownerFilter, userOf, vhostFilter } from './access.ts'
import { existingVhost, param, type RouteContext } from './common.ts'
import { channelJson, channelName, connectionJson, consumerJson } from './format.ts'
import { listAnswer } from './paging.ts'

/** What RabbitMQ tells the client when no X-Reason header is given. */
const DEFAULT_CLOSE_REASON = 'Closed via management plugin'
const NOT_YOURS = 'User not authorised to access object'

export function connectionRoutes(ctx: RouteContext): void {
  const { app, m, node } = ctx
  const byId = (): Map<string, ConnectionSummary> => new Map(m.connections().map((c) => [c.id, c]))

  app.get('/connections', guard('management'), (c) => {
    const mine = ownerFilter(userOf(c))
    return listAnswer(c, m.connections().filter((x) => mine(x.user)).map((x) => connectionJson(x, node)))
  })

  app.get('/connections/:name', guard('management'), (c) => {
    const conn = m.connection(param(c, 'name'))
    if (conn === undefined) throw notFoundError()
    if (!ownerFilter(userOf(c))(conn.user)) throw forbidden(NOT_YOURS)
    return c.json(connectionJson(conn, node))
  })

  app.delete('/connections/:name', guard('management'), (c) => {
    const user = userOf(c)
    const conn = m.connection(param(c, 'name'))
    if (conn === undefined) throw notFoundError()
    if (!isAdmin(user) && conn.user !== user.name) throw forbidden(NOT_YOURS)
    const reason = c.req.header('x-reason')
    m.closeConnection(conn.id, reason === undefined || reason === '' ? DEFAULT_CLOSE_REASON : reason)
    return c.body(null, 204)
  })

  app.get('/connections/:name/channels', guard('management'), (c) => {
    const conn = m.connection(param(c, 'name'))
    if (conn === undefined) throw notFoundError()
    if (!ownerFilter(userOf(c))(conn.user)) throw forbidden(NOT_YOURS)
    return listAnswer(
      c,
      m
        .sessions()
        .filter((s) => s.connectionId === conn.id)
        .map((s) => channelJson(s, node, conn)),
    )
  })

  app.get('/channels', guard('management'), (c) => {
    const mine = ownerFilter(userOf(c))
    const conns = byId()
    return listAnswer(
      c,
      m
        .sessions()
        .filter((s) => mine(s.user))
        .map((s) => channelJson(s, node, conns.get(s.connectionId))),
    )
  })

  app.get('/channels/:name', guard('management'), (c) => {
    const name = param(c, 'name')
    const session = m.sessions().find((s) => channelName(s.connectionName, s.number) === name)
    if (session === undefined) throw notFoundError()
    if (!ownerFilter(userOf(c))(session.user)) throw forbidden(NOT_YOURS)
    return c.json(channelJson(session, node, m.connection(session.connectionId)))
  })

  app.get('/consumers', guard('management'), (c) => {
    const visible = vhostFilter(m, userOf(c))
    const conns = byId()
    return listAnswer(
      c,
      m
        .consumers()
        .filter((x) => visible(x.vhost))
        .map((x) => consumerJson(x, node, conns.get(x.connectionId))),
      ['queue.vhost', 'queue.name'],
    )
  })

  app.get('/consumers/:vhost', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const conns = byId()
    return listAnswer(
      c,
      m.consumers(vhost).map((x) => consumerJson(x, node, conns.get(x.connectionId))),
      ['queue.vhost', 'queue.name'],
    )
  })
}
