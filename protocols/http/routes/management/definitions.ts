/**
 * /api/definitions: export (GET) and import (POST) of users, vhosts, permissions, queues,
 * exchanges and bindings in RabbitMQ's JSON format (administrators only), as
 * rabbit_mgmt_wm_definitions.
 *
 * @module
 */
import type { Definitions, Table } from '../../../../src/api.ts'
import { parseJson } from '../../schemas.ts'
import { tableToJson } from '../message_json.ts'
import { guard } from './access.ts'
import type { RouteContext } from './common.ts'
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
}
