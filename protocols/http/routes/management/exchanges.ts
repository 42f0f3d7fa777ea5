/**
 * /api/exchanges: list, show, declare (PUT), delete, and an exchange's bindings as source or
 * destination, as rabbit_mgmt_wm_exchange*. Publishing (POST …/publish) is in messaging.ts.
 *
 * @module
 */
import type { Context } from 'hono'
import type { HttpEnv } from '../../app.ts'
import { badRequest, notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { checkVhostAccess, guard, userOf, vhostFilter } from './access.ts'
import { created, exchangeParam, existingVhost, param, queryFlag, type RouteContext } from './common.ts'
import { bindingJson, exchangeJson } from './format.ts'
import { listAnswer } from './paging.ts'
import { exchangeBody } from './schemas.ts'
import { fitsShortString, MAX_SHORTSTR_BYTES } from '../../field_limits.ts'

export function exchangeRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  /** The vhost and exchange of the path, checked to exist and be accessible. */
  const existing = (c: Context<HttpEnv>): { vhost: string; name: string } => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = exchangeParam(c, 'name')
    if (m.exchange(vhost, name) === undefined) throw notFoundError()
    return { vhost, name }
  }

  app.get('/exchanges', guard('management'), (c) => {
    const visible = vhostFilter(m, userOf(c))
    return listAnswer(c, m.exchanges().filter((x) => visible(x.vhost)).map(exchangeJson))
  })

  app.get('/exchanges/:vhost', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    return listAnswer(c, m.exchanges(vhost).map(exchangeJson))
  })

  app.get('/exchanges/:vhost/:name', guard('management'), (c) => {
    const { vhost, name } = existing(c)
    return c.json(exchangeJson(m.exchange(vhost, name)!))
  })

  app.put('/exchanges/:vhost/:name', guard('management'), async (c) => {
    const vhost = param(c, 'vhost')
    if (!m.hasVhost(vhost)) throw notFoundError('vhost_not_found')
    checkVhostAccess(m, userOf(c), vhost)
    const name = exchangeParam(c, 'name')
    if (!fitsShortString(name)) throw badRequest(`exchange name is longer than ${MAX_SHORTSTR_BYTES} bytes`)
    const body = await parseJson(c, exchangeBody)
    const existed = m.exchange(vhost, name) !== undefined
    m.actor(vhost, userOf(c)).declareExchange(name, body.type, {
      durable: body.durable,
      autoDelete: body.auto_delete,
      internal: body.internal,
      args: body.arguments,
    })
    return created(c, !existed)
  })

  app.delete('/exchanges/:vhost/:name', guard('management'), (c) => {
    const { vhost, name } = existing(c)
    m.actor(vhost, userOf(c)).deleteExchange(name, { ifUnused: queryFlag(c, 'if-unused') })
    return c.body(null, 204)
  })

  app.get('/exchanges/:vhost/:name/bindings/source', guard('management'), (c) => {
    const { vhost, name } = existing(c)
    return c.json(m.bindings(vhost).filter((b) => b.source === name).map(bindingJson))
  })

  app.get('/exchanges/:vhost/:name/bindings/destination', guard('management'), (c) => {
    const { vhost, name } = existing(c)
    return c.json(
      m
        .bindings(vhost)
        .filter((b) => b.destinationKind === 'exchange' && b.destination === name)
        .map(bindingJson),
    )
  })
}
