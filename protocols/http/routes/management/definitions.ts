/**
 * /api/definitions: export (GET) and import (POST) of users, vhosts, permissions, policies,
 * queues, exchanges and bindings in RabbitMQ's JSON format (administrators only), as
 * rabbit_mgmt_wm_definitions.
 *
 * @module
 */
import type { Definitions, Table } from '../../../../src/api.ts'
import { z } from 'zod'
import { parseJson, validate } from '../../schemas.ts'
import { tableToJson } from '../message_json.ts'
import { guard } from './access.ts'
import { existingVhost, type RouteContext } from './common.ts'
import { RABBITMQ_API_VERSION } from './format.ts'
import { definitionsBody } from './schemas.ts'

/** Field tables as plain JSON (bigints, binaries and dates have no JSON form of their own). */
function withJsonArguments<T extends { arguments: Table }>(items: T[] | undefined): T[] {
  return (items ?? []).map((item) => ({ ...item, arguments: tableToJson(item.arguments) as Table }))
}

export function definitionRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  app.get('/definitions', guard('administrator'), (c) => {
    const d = m.exportDefinitions()
    const out: Definitions = {
      rabbit_version: RABBITMQ_API_VERSION,
      rabbitmq_version: RABBITMQ_API_VERSION,
      ...d,
      queues: withJsonArguments(d.queues),
      exchanges: withJsonArguments(d.exchanges),
      bindings: withJsonArguments(d.bindings),
    }
    return c.json(out)
  })

  app.post('/definitions', guard('administrator'), async (c) => {
    const body = await parseJson(c, definitionsBody)
    m.importDefinitions(body as Definitions)
    return c.body(null, 204)
  })

  // One vhost's queues, exchanges and bindings, without their `vhost` fields, so the file
  // imports into any vhost (rabbit_definitions:export_vhost_definitions).
  app.get('/definitions/:vhost', guard('administrator'), (c) => {
    const vhost = existingVhost(c, m)
    const d = m.exportDefinitions()
    const inVhost = <T extends { vhost: string; arguments: Table }>(items: T[] | undefined): Omit<T, 'vhost'>[] =>
      withJsonArguments(items?.filter((x) => x.vhost === vhost)).map(({ vhost: _, ...rest }) => rest)
    return c.json({
      rabbit_version: RABBITMQ_API_VERSION,
      rabbitmq_version: RABBITMQ_API_VERSION,
      product_name: d.product_name,
      product_version: d.product_version,
      parameters: [],
      policies: (d.policies ?? []).filter((p) => p.vhost === vhost).map(({ vhost: _, ...rest }) => rest),
      queues: inVhost(d.queues),
      exchanges: inVhost(d.exchanges),
      bindings: inVhost(d.bindings),
    })
  })

  // Imports such a file into the vhost of the path; users, vhosts and permissions in it are
  // ignored, as RabbitMQ does.
  app.post('/definitions/:vhost', guard('administrator'), async (c) => {
    const vhost = existingVhost(c, m)
    const raw = await parseJson(c, z.object({}).loose())
    const inVhost = (items: unknown): unknown =>
      Array.isArray(items) ? items.map((x: unknown) => (x !== null && typeof x === 'object' ? { ...x, vhost } : x)) : items
    const body = validate(
      definitionsBody,
      { policies: inVhost(raw.policies), queues: inVhost(raw.queues), exchanges: inVhost(raw.exchanges), bindings: inVhost(raw.bindings) },
      'body',
    )
    m.importDefinitions({ policies: body.policies, queues: body.queues, exchanges: body.exchanges, bindings: body.bindings } as Definitions)
    return c.body(null, 204)
  })
}
