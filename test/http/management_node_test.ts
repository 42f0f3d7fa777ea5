// The node, installation and health endpoints RabbitMQ's tools call (rabbitmqadmin, the
// management UI, exporters), and the runtime-configuration lists Warren answers empty, against
// a real broker over real HTTP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { addUser, type Api, apiFor } from './management_client.ts'

let broker: TestBroker
let api: Api

beforeAll(async () => {
  broker = await startBroker({ memoryHighWatermark: 64 * 1024 * 1024 })
  api = apiFor(broker)
})

afterAll(async () => {
  await broker?.stop()
})

describe('GET /api/nodes', () => {
  test('one running disc node named as the overview names it, with its limits and alarms', async () => {
    const overview = (await api('GET', '/overview')).body
    const { status, body } = await api('GET', '/nodes')
    expect(status).toBe(200)
    expect(body).toHaveLength(1)
    const node = body[0]
    expect(node).toMatchObject({
      name: overview.node,
      type: 'disc',
      running: true,
      mem_limit: 64 * 1024 * 1024,
      mem_alarm: false,
      disk_free_alarm: false,
      run_queue: 0,
      rates_mode: 'basic',
      partitions: [],
      applications: [],
      contexts: [],
      os_pid: String(process.pid),
    })
    expect(node.name).toMatch(/^warren@/)
    for (const key of ['mem_used', 'disk_free', 'disk_free_limit', 'fd_used', 'fd_total', 'sockets_used', 'sockets_total', 'proc_used', 'proc_total']) {
      expect(node[key]).toBeGreaterThanOrEqual(0)
    }
    expect(node.processors).toBeGreaterThan(0)
    expect(node.uptime).toBeGreaterThanOrEqual(0)
    expect(node.uptime).toBeLessThan(Date.now() - overview.started_at + 1000)
    expect(node.exchange_types).toEqual(
      expect.arrayContaining([{ name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true }]),
    )
    expect(node.auth_mechanisms.map((m: { name: string }) => m.name)).toEqual(['PLAIN', 'AMQPLAIN'])
  })

  test('GET /api/nodes/{name}: the node by its name, 404 for any other', async () => {
    const [node] = (await api('GET', '/nodes')).body
    const one = await api('GET', `/nodes/${encodeURIComponent(node.name)}`)
    expect(one.status).toBe(200)
    expect(one.body.name).toBe(node.name)
    expect((await api('GET', '/nodes/rabbit%40elsewhere')).status).toBe(404)
  })

  test('monitoring or administrator only, as RabbitMQ', async () => {
    await addUser(api, 'node-mgmt', ['management'])
    await addUser(api, 'node-mon', ['monitoring'])
    expect((await apiFor(broker, 'node-mgmt')('GET', '/nodes')).status).toBe(403)
    expect((await apiFor(broker, 'node-mon')('GET', '/nodes')).status).toBe(200)
  })
})

describe('installation', () => {
  test('extensions, cluster name, auth', async () => {
    expect(await api('GET', '/extensions')).toMatchObject({ status: 200, body: [] })
    const node = (await api('GET', '/overview')).body.node
    expect(await api('GET', '/cluster-name')).toMatchObject({ status: 200, body: { name: node } })
    // The UI reads /api/auth before anyone logs in.
    const auth = await apiFor(broker, null)('GET', '/auth')
    expect(auth.status).toBe(200)
    expect(auth.body).toMatchObject({ oauth_enabled: false, enable_uaa: false })
  })
})

describe('health checks', () => {
  test('local alarms, virtual hosts, quorum criticality: ok', async () => {
    expect(await api('GET', '/health/checks/local-alarms')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(await api('GET', '/health/checks/virtual-hosts')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(await api('GET', '/health/checks/node-is-quorum-critical')).toMatchObject({
      status: 200,
      body: { status: 'ok', reason: 'single node cluster' },
    })
  })

  test('protocol-listener: ok for amqp (and its aliases), mqtt and http; 503 naming the listeners otherwise', async () => {
    for (const protocol of ['amqp', 'AMQP091', 'amqp0-9-1', 'mqtt', 'mqtt311', 'http', 'management']) {
      const { status, body } = await api('GET', `/health/checks/protocol-listener/${protocol}`)
      expect(status).toBe(200)
      expect(body.status).toBe('ok')
    }
    expect((await api('GET', '/health/checks/protocol-listener/amqp0-9-1')).body).toEqual({ status: 'ok', protocol: 'amqp' })
    const missing = await api('GET', '/health/checks/protocol-listener/stomp')
    expect(missing.status).toBe(503)
    expect(missing.body).toEqual({ status: 'failed', reason: 'No active listener', missing: 'stomp', protocols: ['amqp', 'mqtt', 'http'] })
  })

  test('port-listener: ok for a bound port, 503 for another, 400 for a non-number', async () => {
    expect(await api('GET', `/health/checks/port-listener/${broker.amqpPort}`)).toMatchObject({
      status: 200,
      body: { status: 'ok', port: broker.amqpPort },
    })
    expect((await api('GET', `/health/checks/port-listener/${broker.httpPort}`)).status).toBe(200)
    const other = await api('GET', '/health/checks/port-listener/1')
    expect(other.status).toBe(503)
    expect(other.body).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 })
    expect(other.body.ports).toEqual([broker.amqpPort, broker.mqttPort, broker.httpPort])
    expect(await api('GET', '/health/checks/port-listener/amqp')).toMatchObject({
      status: 400,
      body: { error: 'bad_request', reason: 'Invalid port' },
    })
  })

  test('certificate-expiration: ok (no TLS listener), 400 for a bad value or unit', async () => {
    expect(await api('GET', '/health/checks/certificate-expiration/1/days')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect((await api('GET', '/health/checks/certificate-expiration/2/Weeks')).status).toBe(200)
    expect((await api('GET', '/health/checks/certificate-expiration/x/days')).body.reason).toBe('Invalid expiration value.')
    const unit = await api('GET', '/health/checks/certificate-expiration/1/fortnights')
    expect(unit.status).toBe(400)
    expect(unit.body.reason).toContain('Supported units: days, weeks, months, years')
  })

  test('the overview lists the listeners', async () => {
    const { listeners, node } = (await api('GET', '/overview')).body
    expect(listeners).toEqual([
      { node, protocol: 'amqp', ip_address: '127.0.0.1', port: broker.amqpPort, socket_opts: {} },
      { node, protocol: 'mqtt', ip_address: '127.0.0.1', port: broker.mqttPort, socket_opts: {} },
      { node, protocol: 'http', ip_address: '127.0.0.1', port: broker.httpPort, socket_opts: {} },
    ])
  })
})

describe('runtime configuration Warren does not have', () => {
  test('the lists answer [] in RabbitMQ shapes', async () => {
    for (const path of [
      '/policies',
      '/policies/%2F',
      '/operator-policies',
      '/operator-policies/%2F',
      '/parameters',
      '/parameters/federation-upstream',
      '/parameters/shovel/%2F',
      '/global-parameters',
      '/feature-flags',
      '/vhost-limits',
      '/vhost-limits/%2F',
      '/user-limits',
      '/user-limits/guest',
      '/topic-permissions',
      '/users/guest/topic-permissions',
      '/vhosts/%2F/topic-permissions',
    ]) {
      const { status, body } = await api('GET', path)
      expect({ path, status, body }).toEqual({ path, status: 200, body: [] })
    }
    expect((await api('GET', '/policies/nowhere')).status).toBe(404)
    expect((await api('GET', '/user-limits/nobody')).status).toBe(404)
    expect((await api('GET', '/policies/%2F/p')).status).toBe(404)
    expect((await api('DELETE', '/policies/%2F/p')).status).toBe(404)
  })

  test('PUT of an operator policy, parameter or limit is a 400 that says Warren does not support it', async () => {
    for (const [path, words] of [
      ['/operator-policies/%2F/op', 'operator policies'],
      ['/parameters/shovel/%2F/s', 'runtime parameters'],
      ['/global-parameters/cluster_name', 'global runtime parameters'],
      ['/vhost-limits/%2F/max-connections', 'virtual host limits'],
      ['/user-limits/guest/max-channels', 'user limits'],
    ] as const) {
      const { status, body } = await api('PUT', path, { value: 1 })
      expect({ path, status }).toEqual({ path, status: 400 })
      expect(body.reason).toContain(`does not support ${words}`)
    }
  })

  test('policies need policymaker (or administrator); operator policies administrator', async () => {
    await addUser(api, 'pol-mgmt', ['management'], ['/'])
    await addUser(api, 'pol-maker', ['policymaker'], ['/'])
    expect((await apiFor(broker, 'pol-mgmt')('GET', '/policies')).status).toBe(403)
    expect((await apiFor(broker, 'pol-maker')('GET', '/policies/%2F')).status).toBe(200)
    expect((await apiFor(broker, 'pol-maker')('GET', '/operator-policies')).status).toBe(403)
  })
})
