/**
 * /api/users and /api/permissions (administrators only), and /api/whoami, as
 * rabbit_mgmt_wm_user*, rabbit_mgmt_wm_permission* and rabbit_mgmt_wm_whoami.
 *
 * @module
 */
import { badRequest, notFoundError } from '../../errors.ts'
import { parseJson } from '../../schemas.ts'
import { guard, userOf } from './access.ts'
import { created, param, type RouteContext } from './common.ts'
import { permissionJson, userJson } from './format.ts'
import { listAnswer } from './paging.ts'
import { bulkDeleteBody, permissionBody, userBody } from './schemas.ts'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function userRoutes(ctx: RouteContext): void {
  const { app, m } = ctx

  app.get('/whoami', guard('management'), (c) => {
    const user = userOf(c)
    return c.json({ name: user.name, tags: user.tags })
  })

  app.get('/users', guard('administrator'), (c) => listAnswer(c, m.users().map(userJson), ['name']))

  // Before /users/:user, which would take "without-permissions" for a user name.
  app.get('/users/without-permissions', guard('administrator'), (c) => {
    const permitted = new Set(m.permissions().map((p) => p.user))
    return listAnswer(c, m.users().filter((u) => !permitted.has(u.name)).map(userJson), ['name'])
  })

  // All or nothing: every user must exist before any is deleted (RabbitMQ stops at the first
  // missing one, having deleted those before it).
  app.post('/users/bulk-delete', guard('administrator'), async (c) => {
    const { users } = await parseJson(c, bulkDeleteBody)
    const missing = users.find((name) => m.user(name) === undefined)
    if (missing !== undefined) throw badRequest(`no_such_user: ${missing}`)
    for (const name of users) m.deleteUser(name)
    return c.body(null, 204)
  })

  app.get('/users/:user', guard('administrator'), (c) => {
    const user = m.user(param(c, 'user'))
    if (user === undefined) throw notFoundError()
    return c.json(userJson(user))
  })

  app.put('/users/:user', guard('administrator'), async (c) => {
    const name = param(c, 'user')
    const body = await parseJson(c, userBody)
    if (body.password !== undefined && body.password_hash !== undefined) {
      throw badRequest('body: give password or password_hash, not both')
    }
    if (body.password_hash !== undefined && !BASE64.test(body.password_hash)) {
      throw badRequest('password_hash: expected base64')
    }
    const wasCreated = m.putUser(name, {
      password: body.password,
      passwordHash: body.password_hash,
      hashingAlgorithm: body.hashing_algorithm,
      tags: typeof body.tags === 'string' ? body.tags.split(',') : body.tags,
    })
    return created(c, wasCreated)
  })

  app.delete('/users/:user', guard('administrator'), (c) => {
    if (!m.deleteUser(param(c, 'user'))) throw notFoundError()
    return c.body(null, 204)
  })

  app.get('/users/:user/permissions', guard('administrator'), (c) => {
    const name = param(c, 'user')
    if (m.user(name) === undefined) throw notFoundError()
    return listAnswer(c, m.permissions().filter((p) => p.user === name).map(permissionJson), ['vhost', 'user'])
  })

  app.get('/permissions', guard('administrator'), (c) => listAnswer(c, m.permissions().map(permissionJson), ['vhost', 'user']))

  app.get('/permissions/:vhost/:user', guard('administrator'), (c) => {
    const p = m.permission(param(c, 'vhost'), param(c, 'user'))
    if (p === undefined) throw notFoundError()
    return c.json(permissionJson(p))
  })

  app.put('/permissions/:vhost/:user', guard('administrator'), async (c) => {
    const vhost = param(c, 'vhost')
    const user = param(c, 'user')
    const body = await parseJson(c, permissionBody)
    return created(c, m.setPermission({ vhost, user, configure: body.configure, write: body.write, read: body.read }))
  })

  app.delete('/permissions/:vhost/:user', guard('administrator'), (c) => {
    if (!m.deletePermission(param(c, 'vhost'), param(c, 'user'))) throw notFoundError()
    return c.body(null, 204)
  })
}
