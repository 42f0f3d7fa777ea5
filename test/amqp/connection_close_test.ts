import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

const NODE = Bun.which('node')
const FIXTURE = fileURLToPath(new URL('./fixtures/close_in_flight.cjs', import.meta.url))

function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE!, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`node exited with ${code}: ${out}`))))
  })
}

// A client may still be writing (publishes queued behind its close) when it reads close-ok.
// RabbitMQ keeps reading until the client closes the socket; closing the descriptor first makes
// those late writes fail with EPIPE (amqplib's "find high watermark" test hung on that).
describe('client-initiated connection.close with publishes in flight', () => {
  let broker: TestBroker
  beforeAll(async () => {
    broker = await startBroker()
  })
  afterAll(async () => {
    await broker.stop()
  })

  test.skipIf(NODE === null)('amqplib under Node: close right after filling the write buffer raises no socket error', async () => {
    const result = JSON.parse(await runNode([FIXTURE, broker.amqpUrl])) as { published: number; errors: string[] }
    expect(result.published).toBeGreaterThan(0)
    expect(result.errors).toEqual([])
  })
})
