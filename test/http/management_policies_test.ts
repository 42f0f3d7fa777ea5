// User policies through the management API against a real broker: PUT / GET / DELETE shapes and
// errors, and each honoured setting's effect on queues and exchanges, checked over AMQP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Channel, GetMessage } from 'amqplib'
import { amqplibConnect, closeQuietly, type Conn, uniq, waitForDepth } from '../helpers/amqp.ts'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'
import { addUser, type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api
let client: Conn
let ch: Channel

beforeAll(async () => {
  broker = await startBroker()
  api = apiFor(broker)
  client = await amqplibConnect(broker.amqpUrl)
  ch = await client.conn.createChannel()
})

afterAll(async () => {
  await closeQuietly(client?.conn)
  await broker?.stop()
})

async function putPolicy(name: string, body: Record<string, unknown>): Promise<number> {
  const res = await api('PUT', `/policies/%2F/${name}`, body)
  if (res.status !== 201 && res.status !== 204) throw new Error(`PUT policy ${name}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.status
}

async function deletePolicy(name: string): Promise<void> {
  expect((await api('DELETE', `/policies/%2F/${name}`)).status).toBe(204)
}

function publish(queue: string, count: number, prefix = 'm'): void {
  for (let i = 0; i < count; i++) ch.sendToQueue(queue, Buffer.from(`${prefix}${i}`))
}

/** The queue's depth once publishes so far have been processed (a checkQueue round trip orders them). */
async function depth(queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount
}

describe('policy CRUD', () => {
  test('PUT creates (201) and updates (204); GET shapes as RabbitMQ; DELETE 204 then 404', async () => {
    const name = uniq('crud')
    expect(await putPolicy(name, { pattern: '^crud\\.', definition: { 'max-length': 5 } })).toBe(201)
    const one = await api('GET', `/policies/%2F/${name}`)
    expect(one.status).toBe(200)
    expect(one.body).toEqual({ vhost: '/', name, pattern: '^crud\\.', 'apply-to': 'all', definition: { 'max-length': 5 }, priority: 0 })
    expect(await putPolicy(name, { pattern: '^crud\\.', definition: { 'max-length': 6 }, priority: 3, 'apply-to': 'queues' })).toBe(204)
    const list = await api('GET', '/policies')
    expect(list.body).toContainEqual({ vhost: '/', name, pattern: '^crud\\.', 'apply-to': 'queues', definition: { 'max-length': 6 }, priority: 3 })
    expect((await api('GET', '/policies/%2F')).body.map((p: { name: string }) => p.name)).toContain(name)
    await deletePolicy(name)
    expect((await api('DELETE', `/policies/%2F/${name}`)).status).toBe(404)
    expect((await api('GET', `/policies/%2F/${name}`)).status).toBe(404)
    expect((await api('PUT', '/policies/nowhere/p', { pattern: '.*', definition: { 'max-length': 1 } })).status).toBe(404)
  })

  test('bad definitions, patterns and apply-to are 400 with RabbitMQ-like reasons', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ pattern: '.*', definition: { 'no-such-key': 1 } }, 'Validation failed\n\n[{<<"no-such-key">>,1}] are not recognised policy settings\n'],
      [{ pattern: '.*', definition: { 'max-length': -1 } }, '-1 is not a valid maximum length'],
      [{ pattern: '.*', definition: { 'message-ttl': 'x' } }, '<<"x">> is not a valid message TTL'],
      [{ pattern: '.*', definition: { overflow: 'explode' } }, 'is not a valid overflow value'],
      [{ pattern: '.*', definition: { expires: 0 } }, '0 is not a valid queue expiry'],
      [{ pattern: '.*', definition: { 'dead-letter-exchange': 5 } }, '5 is not a valid dead letter exchange name'],
      [{ pattern: '.*', definition: {} }, 'no policy provided'],
      [{ pattern: '(', definition: { 'max-length': 1 } }, 'pattern'],
      [{ pattern: '.*', definition: { 'max-length': 1 }, 'apply-to': 'topics' }, "apply-to 'topics' unrecognised"],
      [{ pattern: '.*', definition: { 'max-length': 1 }, priority: 'high' }, 'priority'],
      [{ definition: { 'max-length': 1 } }, 'pattern'],
    ]
    for (const [body, reason] of cases) {
      const res = await api('PUT', '/policies/%2F/bad', body)
      expect({ body, status: res.status, error: res.body.error }).toEqual({ body, status: 400, error: 'bad_request' })
      expect(res.body.reason).toContain(reason)
    }
    expect((await api('GET', '/policies/%2F/bad')).status).toBe(404)
  })

  test('HA, mirroring, queue-mode and federation keys are accepted and ignored', async () => {
    const name = uniq('ha')
    const definition = {
      'ha-mode': 'exactly',
      'ha-params': 2,
      'ha-sync-mode': 'automatic',
      'queue-mode': 'lazy',
      'queue-master-locator': 'min-masters',
      'queue-version': 2,
      'federation-upstream-set': 'all',
    }
    expect(await putPolicy(name, { pattern: '^ha-only\\.', definition, 'apply-to': 'streams' })).toBe(201)
    expect((await api('GET', `/policies/%2F/${name}`)).body).toMatchObject({ definition, 'apply-to': 'streams' })
    await deletePolicy(name)
  })

  test('policies need policymaker or administrator, and access to the vhost', async () => {
    await addUser(api, 'pp-mgmt', ['management'], ['/'])
    await addUser(api, 'pp-maker', ['policymaker'], ['/'])
    await addUser(api, 'pp-outsider', ['policymaker'])
    const body = { pattern: '^pp\\.', definition: { 'max-length': 1 } }
    expect((await apiFor(broker, 'pp-mgmt')('PUT', '/policies/%2F/pp', body)).status).toBe(403)
    expect((await apiFor(broker, 'pp-outsider')('PUT', '/policies/%2F/pp', body)).status).toBe(403)
    expect((await apiFor(broker, null)('PUT', '/policies/%2F/pp', body)).status).toBe(401)
    expect((await apiFor(broker, 'pp-maker')('PUT', '/policies/%2F/pp', body)).status).toBe(201)
    expect((await apiFor(broker, 'pp-outsider')('GET', '/policies')).body).toEqual([])
    expect((await apiFor(broker, 'pp-maker')('DELETE', '/policies/%2F/pp')).status).toBe(204)
  })
})

describe('policy effects', () => {
  test('max-length applies to new queues, trims existing ones at once; DELETE restores unlimited', async () => {
    const existing = `pol.${uniq('old')}`
    await ch.assertQueue(existing, { durable: false })
    publish(existing, 5)
    await waitForDepth(ch, existing, 5)
    const name = uniq('maxlen')
    await putPolicy(name, { pattern: '^pol\\.', definition: { 'max-length': 2 }, 'apply-to': 'queues' })
    expect(await depth(existing)).toBe(2)
    // drop-head: the newest two stay.
    expect((await ch.get(existing, { noAck: true }) as { content: Buffer }).content.toString()).toBe('m3')

    const q = `pol.${uniq('a')}`
    await ch.assertQueue(q, { durable: false })
    publish(q, 4)
    expect(await depth(q)).toBe(2)
    const shown = await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)
    expect(shown.body).toMatchObject({ policy: name, effective_policy_definition: { 'max-length': 2 }, arguments: {} })

    await deletePolicy(name)
    publish(q, 4)
    expect(await depth(q)).toBe(6)
    expect((await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)).body).toMatchObject({ policy: null, effective_policy_definition: {} })
    // A queue no policy matches shows none.
    const other = uniq('unmatched')
    await ch.assertQueue(other, { durable: false })
    expect((await api('GET', `/queues/%2F/${other}`)).body.policy).toBeNull()
  })

  test('of two matching policies the higher priority applies; deleting it falls back to the other', async () => {
    const low = uniq('low')
    const high = uniq('high')
    await putPolicy(low, { pattern: '^prio\\.', definition: { 'max-length': 1 }, priority: 1 })
    await putPolicy(high, { pattern: '^prio\\.x', definition: { 'max-length': 3 }, priority: 5 })
    const q = `prio.x${uniq('q')}`
    await ch.assertQueue(q, { durable: false })
    publish(q, 5)
    expect(await depth(q)).toBe(3)
    expect((await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)).body.policy).toBe(high)
    await deletePolicy(high)
    expect(await depth(q)).toBe(1)
    expect((await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)).body.policy).toBe(low)
    await deletePolicy(low)
  })

  test('limits combine with queue arguments as the minimum; overflow from the argument wins', async () => {
    const name = uniq('min')
    await putPolicy(name, { pattern: '^minq\\.', definition: { 'max-length': 3, overflow: 'drop-head' } })
    const smaller = `minq.${uniq('s')}`
    const larger = `minq.${uniq('l')}`
    const rejecting = `minq.${uniq('r')}`
    await ch.assertQueue(smaller, { durable: false, arguments: { 'x-max-length': 1 } })
    await ch.assertQueue(larger, { durable: false, arguments: { 'x-max-length': 10 } })
    await ch.assertQueue(rejecting, { durable: false, arguments: { 'x-overflow': 'reject-publish' } })
    for (const q of [smaller, larger, rejecting]) publish(q, 5)
    expect(await depth(smaller)).toBe(1)
    expect(await depth(larger)).toBe(3)
    // reject-publish refuses the newest: the first three stay.
    expect(await depth(rejecting)).toBe(3)
    expect((await ch.get(rejecting, { noAck: true }) as { content: Buffer }).content.toString()).toBe('m0')
    await deletePolicy(name)
  })

  test('a dead-letter-exchange policy receives rejected messages of queues without x-dead-letter-exchange', async () => {
    const dlx = uniq('dlx')
    const dlq = uniq('dlq')
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    await ch.assertQueue(dlq, { durable: false })
    await ch.bindQueue(dlq, dlx, '')
    const name = uniq('dl')
    await putPolicy(name, { pattern: '^dlpol\\.', definition: { 'dead-letter-exchange': dlx }, 'apply-to': 'queues' })
    const q = `dlpol.${uniq('q')}`
    await ch.assertQueue(q, { durable: false })
    publish(q, 1, 'dead')
    const msg = (await waitFor(async () => await ch.get(q, { noAck: false }))) as GetMessage
    ch.reject(msg, false)
    await waitForDepth(ch, dlq, 1)
    const dead = (await ch.get(dlq, { noAck: true })) as { content: Buffer; properties: { headers: Record<string, unknown> } }
    expect(dead.content.toString()).toBe('dead0')
    expect(dead.properties.headers['x-first-death-reason']).toBe('rejected')
    await deletePolicy(name)
  })

  test('message-ttl from a policy expires messages published afterwards', async () => {
    const name = uniq('ttl')
    await putPolicy(name, { pattern: '^ttlpol\\.', definition: { 'message-ttl': 300 } })
    const q = `ttlpol.${uniq('q')}`
    await ch.assertQueue(q, { durable: false })
    publish(q, 3)
    expect(await depth(q)).toBe(3)
    await waitFor(async () => (await depth(q)) === 0, { message: 'messages expire' })
    await deletePolicy(name)
    publish(q, 1)
    expect(await depth(q)).toBe(1)
  })

  test('expires from a policy deletes an idle queue', async () => {
    const name = uniq('exp')
    const q = `exppol.${uniq('q')}`
    await ch.assertQueue(q, { durable: false })
    await putPolicy(name, { pattern: '^exppol\\.', definition: { expires: 50 } })
    await waitFor(async () => (await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)).status === 404, { message: 'queue expires' })
    await deletePolicy(name)
  })

  test('an alternate-exchange policy routes what an exchange cannot; its own argument wins', async () => {
    const ae = uniq('ae')
    const aeq = uniq('aeq')
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.assertQueue(aeq, { durable: false })
    await ch.bindQueue(aeq, ae, '')
    const x = `aepol.${uniq('x')}`
    await ch.assertExchange(x, 'direct', { durable: false })
    const name = uniq('aep')
    await putPolicy(name, { pattern: '^aepol\\.', definition: { 'alternate-exchange': ae }, 'apply-to': 'exchanges' })
    expect((await api('GET', `/exchanges/%2F/${encodeURIComponent(x)}`)).body.policy).toBe(name)
    ch.publish(x, 'nowhere', Buffer.from('unroutable'))
    await waitForDepth(ch, aeq, 1)
    // An exchange's own alternate-exchange argument wins over the policy.
    const ownAe = uniq('ownae')
    const ownAeq = uniq('ownaeq')
    await ch.assertExchange(ownAe, 'fanout', { durable: false })
    await ch.assertQueue(ownAeq, { durable: false })
    await ch.bindQueue(ownAeq, ownAe, '')
    const y = `aepol.${uniq('y')}`
    await ch.assertExchange(y, 'direct', { durable: false, alternateExchange: ownAe })
    ch.publish(y, 'nowhere', Buffer.from('own'))
    await waitForDepth(ch, ownAeq, 1)
    expect(await depth(aeq)).toBe(1)
    // apply-to exchanges: queues are not affected.
    const q = `aepol.${uniq('q')}`
    await ch.assertQueue(q, { durable: false })
    expect((await api('GET', `/queues/%2F/${encodeURIComponent(q)}`)).body.policy).toBeNull()
    await deletePolicy(name)
    ch.publish(x, 'nowhere', Buffer.from('dropped'))
    expect(await depth(aeq)).toBe(1)
  })

  test('definitions import of a RabbitMQ export with a policy applies it; export carries it', async () => {
    const definitions = {
      rabbit_version: '3.13.7',
      policies: [
        { vhost: '/', name: 'imported-limit', pattern: '^imp\\.', 'apply-to': 'queues', definition: { 'max-length': 1, 'ha-mode': 'all' }, priority: 0 },
      ],
      queues: [{ name: 'imp.q', vhost: '/', durable: true, auto_delete: false, arguments: {} }],
    }
    expect((await api('POST', '/definitions', definitions)).status).toBe(204)
    publish('imp.q', 3)
    expect(await depth('imp.q')).toBe(1)
    const exported = (await api('GET', '/definitions')).body
    expect(exported.policies).toContainEqual(definitions.policies[0])
    const vhostExport = (await api('GET', '/definitions/%2F')).body
    expect(vhostExport.policies).toContainEqual({ ...definitions.policies[0], vhost: undefined })
    expect((await api('POST', '/definitions', { policies: [{ vhost: '/', name: 'x', pattern: '.*', definition: { nope: 1 } }] })).status).toBe(400)
    await deletePolicy('imported-limit')
    await ch.deleteQueue('imp.q')
  })
})
