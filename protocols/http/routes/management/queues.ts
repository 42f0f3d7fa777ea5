/**
 * /api/queues: list, show, declare (PUT), delete, purge (DELETE …/contents), get messages
 * (POST …/get) and the queue's bindings, as rabbit_mgmt_wm_queue*.
 *
 * @module
 */
import type { ConnectionSummary, FetchedMessage } from '../../../../src/api.ts'
import { badRequest, notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { encodePayload, propertiesToJson } from '../message_json.ts'
import { checkVhostAccess, guard, userOf, vhostFilter } from './access.ts'
import { created, existingVhost, param, queryFlag, type RouteContext } from './common.ts'
import { bindingJson, type Json, queueJson } from './format.ts'
import { listAnswer } from './paging.ts'
import { getBody, queueBody } from './schemas.ts'
import { fitsShortString, MAX_SHORTSTR_BYTES } from '../../field_limits.ts'

const SETTLE = {
  ack_requeue_false: 'ack',
  ack_requeue_true: 'requeue',
  reject_requeue_true: 'requeue',
  reject_requeue_false: 'reject',
} as const

/** One message as POST …/get answers it (rabbit_mgmt_wm_queue_get:basic_get/5). */
function fetchedJson(f: FetchedMessage, encoding: 'auto' | 'base64', truncate: number | undefined): Json {
  const body = f.message.body
  const shown = truncate !== undefined && body.byteLength > truncate ? body.subarray(0, truncate) : body
  const { payload, encoding: used } = encodePayload(shown, encoding)
  return {
    payload_bytes: body.byteLength,
    redelivered: f.redelivered,
    exchange: f.message.exchange,
    routing_key: f.message.routingKey,
    message_count: f.remaining,
    properties: propertiesToJson(f.message.properties),
    payload,
    payload_encoding: used,
  }
}

export function queueRoutes(ctx: RouteContext): void {
  const { app, m, node } = ctx

  /** Owners of exclusive queues, looked up once per answer. */
  const owners = (): Map<string, ConnectionSummary> => new Map(m.connections().map((c) => [c.id, c]))
  const format = (vhost: string | undefined, visible: (v: string) => boolean): Json[] => {
    const byId = owners()
    const out: Json[] = []
    for (const q of m.queues(vhost)) {
      if (!visible(q.vhost)) continue
      out.push(queueJson(q, node, q.ownerConnection === undefined ? undefined : byId.get(q.ownerConnection)))
    }
    return out
  }

  app.get('/queues', guard('management'), (c) => listAnswer(c, format(undefined, vhostFilter(m, userOf(c)))))

  app.get('/queues/:vhost', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    return listAnswer(c, format(vhost, () => true))
  })

  app.get('/queues/:vhost/:name', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const q = m.queue(vhost, param(c, 'name'))
    if (q === undefined) throw notFoundError()
    const owner = q.ownerConnection === undefined ? undefined : m.connection(q.ownerConnection)
    return c.json(queueJson(q, node, owner))
  })

  app.put('/queues/:vhost/:name', guard('management'), async (c) => {
    const vhost = param(c, 'vhost')
    if (!m.hasVhost(vhost)) throw notFoundError('vhost_not_found')
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    if (!fitsShortString(name)) throw badRequest(`queue name is longer than ${MAX_SHORTSTR_BYTES} bytes`)
    const body = await parseJson(c, queueBody)
    const existed = m.queue(vhost, name) !== undefined
    m.actor(vhost, userOf(c)).declareQueue(name, { durable: body.durable, autoDelete: body.auto_delete, args: body.arguments })
    return created(c, !existed)
  })

  app.delete('/queues/:vhost/:name', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    if (m.queue(vhost, name) === undefined) throw notFoundError()
    m.actor(vhost, userOf(c)).deleteQueue(name, { ifUnused: queryFlag(c, 'if-unused'), ifEmpty: queryFlag(c, 'if-empty') })
    return c.body(null, 204)
  })

  app.delete('/queues/:vhost/:name/contents', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    if (m.queue(vhost, name) === undefined) throw notFoundError()
    m.actor(vhost, userOf(c)).purgeQueue(name)
    return c.body(null, 204)
  })

  app.post('/queues/:vhost/:name/get', guard('management'), async (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    if (m.queue(vhost, name) === undefined) throw notFoundError()
    const body = await parseJson(c, getBody)
    const fetched = m.actor(vhost, userOf(c)).getMessages(name, { count: body.count, settle: SETTLE[body.ackmode] })
    return c.json(fetched.map((f) => fetchedJson(f, body.encoding, body.truncate)))
  })

  app.get('/queues/:vhost/:name/bindings', guard('management'), (c) => {
    const vhost = existingVhost(c, m)
    checkVhostAccess(m, userOf(c), vhost)
    const name = param(c, 'name')
    if (m.queue(vhost, name) === undefined) throw notFoundError()
    const items = m
      .bindings(vhost)
      .filter((b) => b.destinationKind === 'queue' && b.destination === name)
      .map(bindingJson)
    return c.json(items)
  })
}
