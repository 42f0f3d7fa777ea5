/**
 * /api/bindings: every binding, a vhost's, those between a source exchange and a destination
 * queue ("q") or exchange ("e") with POST to create one, and one binding by its properties key
 * (GET, DELETE), as rabbit_mgmt_wm_bindings and rabbit_mgmt_wm_binding.
 *
 * @module
 */
import type { Context } from 'hono'
import type { Binding, BindingSummary } from '../../../../src/api.ts'
import type { HttpEnv } from '../../app.ts'
import { notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { tableToJson } from '../message_json.ts'
import { checkVhostAccess, guard, userOf, vhostFilter } from './access.ts'
import { findByPropertiesKey, propertiesKey } from './binding_key.ts'
import { exchangeParam, existingVhost, param, type RouteContext } from './common.ts'
import { bindingJson, type Json } from './format.ts'
import { listAnswer } from './paging.ts'
import { bindingBody } from './schemas.ts'

const KINDS = { q: 'queue', e: 'exchange' } as const

interface Between {
  vhost: string
  source: string
  destination: string
  destinationKind: Binding['destinationKind']
}

/** The bindings from `b.source` to `b.destination`. */
function connecting(bindings: BindingSummary[], b: Between): BindingSummary[] {
  return bindings.filter((x) => x.source === b.source && x.destinationKind === b.destinationKind && x.destination === b.destination)
}

const jsonKey = (x: Json) => ({ routingKey: x.routing_key as string, args: x.arguments as Record<string, unknown> })
const summaryKey = (x: BindingSummary) => ({ routingKey: x.routingKey, args: tableToJson(x.args ?? {}) })

export function bindingRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  /** Path /bindings/:vhost/e/:source/:kind/:destination; both ends must exist (404). */
  const between = (c: Context<HttpEnv>, kind: 'q' | 'e'): Between => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const source = exchangeParam(c, 'source')
    const destinationKind = KINDS[kind]
    const destination = kind === 'q' ? param(c, 'destination') : exchangeParam(c, 'destination')
    if (m.exchange(vhost, source) === undefined) throw notFoundError()
    const found = kind === 'q' ? m.queue(vhost, destination) : m.exchange(vhost, destination)
    if (found === undefined) throw notFoundError()
    return { vhost, source, destination, destinationKind }
  }

  const listed = (b: Between): Json[] => connecting(m.bindings(b.vhost), b).map(bindingJson)

  app.get('/bindings', guard('management'), (c) => {
    const visible = vhostFilter(m, userOf(c))
    return listAnswer(c, m.bindings().filter((b) => visible(b.vhost)).map(bindingJson), ['vhost', 'source', 'destination'])
  })

  app.get('/bindings/:vhost', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    return listAnswer(c, m.bindings(vhost).map(bindingJson), ['vhost', 'source', 'destination'])
  })

  for (const kind of ['q', 'e'] as const) {
    const path = `/bindings/:vhost/e/:source/${kind}/:destination`

    app.get(path, guard('management'), (c) => c.json(listed(between(c, kind))))

    app.post(path, guard('management'), async (c) => {
      const b = between(c, kind)
      const body = await parseJson(c, bindingBody)
      m.actor(b.vhost, userOf(c)).bind({ ...b, routingKey: body.routing_key, args: body.arguments })
      // RabbitMQ answers 201 with the new binding's URI, relative to the list it was posted to.
      const key = propertiesKey(body.routing_key, tableToJson(body.arguments))
      return c.body(null, 201, { Location: `${encodeURIComponent(b.destination)}/${encodeURIComponent(key)}` })
    })

    // hono hands the segment over decoded once, "a.%2A" as "a.*" and "a.%252A" as "a.%2A";
    // findByPropertiesKey reads both as RabbitMQ does.
    app.get(`${path}/:props`, guard('management'), (c) => {
      const found = findByPropertiesKey(listed(between(c, kind)), c.req.param('props'), jsonKey)
      if (found === undefined) throw notFoundError()
      return c.json(found)
    })

    app.delete(`${path}/:props`, guard('management'), (c) => {
      const b = between(c, kind)
      const found = findByPropertiesKey(connecting(m.bindings(b.vhost), b), c.req.param('props'), summaryKey)
      if (found === undefined) throw notFoundError()
      m.actor(b.vhost, userOf(c)).unbind(found)
      return c.body(null, 204)
    })
  }
}
