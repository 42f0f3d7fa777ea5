/**
 * One end-to-end round trip on whatever runtime runs this file: start the server in-process on
 * port 0, declare, publish and consume with amqplib, stop. Run through smoke.node.ts and
 * smoke.deno.ts (bun test covers Bun); prints one summary line and exits 0 or 1.
 *
 * @module
 */
import amqp from 'amqplib'
import { Buffer } from 'node:buffer'
import { exit, runtimeName } from '../../src/runtime/mod.ts'
import type { TestBroker } from '../helpers/broker.ts'

const DEADLINE_MS = 20_000

async function roundTrip(): Promise<void> {
  let broker: TestBroker | undefined
  try {
    // Imported here so that a module that fails to load is reported as a failed smoke test.
    const { startBroker } = await import('../helpers/broker.ts')
    broker = await startBroker()
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
  } finally {
    await broker?.stop()
  }
}

/** Runs the smoke test and exits the process. */
export async function runSmoke(): Promise<void> {
  const label = `smoke (${runtimeName})`
  const timer = setTimeout(() => {
    console.error(`${label}: timed out after ${DEADLINE_MS} ms`)
    console.log(`${label}: 0 passed, 1 failed`)
    exit(1)
  }, DEADLINE_MS)
  try {
    await roundTrip()
    clearTimeout(timer)
    console.log(`${label}: 1 passed, 0 failed`)
    exit(0)
  } catch (error) {
    clearTimeout(timer)
    console.error(error)
    console.log(`${label}: 0 passed, 1 failed`)
    exit(1)
  }
}
