/**
 * End-to-end checks on whatever runtime runs this file: start the server in-process on port 0,
 * declare, publish and consume with amqplib; fetch an authenticated HTTP endpoint; publish and
 * subscribe with mqtt.js over a WebSocket (the HTTP server's upgrade path); stop. Run through
 * smoke.node.ts and smoke.deno.ts (bun test covers Bun); prints one summary line and exits 0 or 1.
 *
 * @module
 */
import amqp from 'amqplib'
import mqtt from 'mqtt'
import { Buffer } from 'node:buffer'
import { exit, runtimeName } from '../../src/runtime/mod.ts'
import type { TestBroker } from '../helpers/broker.ts'

const DEADLINE_MS = 20_000

const CHECKS = 3

async function amqpRoundTrip(broker: TestBroker): Promise<void> {
  const connection = await amqp.connect(broker.amqpUrl)
  try {
    const channel = await connection.createChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    const body = `hello from ${runtimeName}`
    const received = new Promise<string>((resolve) => {
      void channel.consume(queue, (message) => resolve(message ? message.content.toString() : '<cancelled>'), { noAck: true })
    })
    channel.sendToQueue(queue, Buffer.from(body))
    const got = await received
    if (got !== body) throw new Error(`expected body "${body}", got "${got}"`)
  } finally {
    await connection.close()
  }
}

/** The HTTP server answers an authenticated request (GET /api/whoami with guest's basic auth). */
async function httpRequest(broker: TestBroker): Promise<void> {
  const response = await fetch(`${broker.httpUrl}/api/whoami`, {
    headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  })
  const body = (await response.json()) as { name?: string }
  if (response.status !== 200 || body.name !== 'guest') {
    throw new Error(`GET /api/whoami: expected 200 for guest, got ${response.status} ${JSON.stringify(body)}`)
  }
}

/** mqtt.js over ws://…/mqtt: the WebSocket upgrade path reaches the MQTT adapter. */
async function mqttOverWebSocket(broker: TestBroker): Promise<void> {
  const client = await mqtt.connectAsync(`ws://127.0.0.1:${broker.httpPort}/mqtt`, {
    username: 'guest',
    password: 'guest',
    reconnectPeriod: 0,
    connectTimeout: 5000,
  })
  try {
    const topic = `smoke/${runtimeName}`
    const body = `hello over ws from ${runtimeName}`
    const received = new Promise<string>((resolve) => client.on('message', (_topic, payload) => resolve(payload.toString())))
    await client.subscribeAsync(topic, { qos: 1 })
    await client.publishAsync(topic, body, { qos: 1 })
    const got = await received
    if (got !== body) throw new Error(`expected MQTT payload "${body}", got "${got}"`)
  } finally {
    await client.endAsync()
  }
}

async function roundTrip(): Promise<void> {
  let broker: TestBroker | undefined
  try {
    // Imported here so that a module that fails to load is reported as a failed smoke test.
    const { startBroker } = await import('../helpers/broker.ts')
    broker = await startBroker()
    await amqpRoundTrip(broker)
    await httpRequest(broker)
    await mqttOverWebSocket(broker)
  } finally {
    await broker?.stop()
  }
}

/** Runs the smoke test and exits the process. */
export async function runSmoke(): Promise<void> {
  const label = `smoke (${runtimeName})`
  const timer = setTimeout(() => {
    console.error(`${label}: timed out after ${DEADLINE_MS} ms`)
    console.log(`${label}: 0 passed, ${CHECKS} failed`)
    exit(1)
  }, DEADLINE_MS)
  try {
    await roundTrip()
    clearTimeout(timer)
    console.log(`${label}: ${CHECKS} passed, 0 failed`)
    exit(0)
  } catch (error) {
    clearTimeout(timer)
    console.error(error)
    console.log(`${label}: 0 passed, ${CHECKS} failed`)
    exit(1)
  }
}
