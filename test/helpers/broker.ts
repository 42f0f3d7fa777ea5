import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type ConfigInput } from '../../src/config.ts'
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts'

export interface TestBroker {
  server: RunningServer
  amqpPort: number
  /** amqp://guest:guest@127.0.0.1:PORT */
  amqpUrl: string
  mqttPort: number
  /** mqtt://127.0.0.1:PORT */
  mqttUrl: string
  httpPort: number
  /** http://127.0.0.1:PORT (no trailing slash) */
  httpUrl: string
  stop(): Promise<void>
}

/**
 * Starts a broker in this process on 127.0.0.1, every port 0, with a fresh temp data dir.
 * `overrides` are config fields as in a config file (camelCase); `options` are test hooks (a
 * fake free disk space source).
 */
export async function startBroker(overrides: ConfigInput = {}, options: ServerOptions = {}): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-test-'))
  const config = loadConfig({ argv: [], env: {}, file: { host: '127.0.0.1', amqpPort: 0, mqttPort: 0, httpPort: 0, dataDir, ...overrides } })
  const server = await startServer(config, options)
  const amqpPort = server.ports.amqp
  const mqttPort = server.ports.mqtt
  const httpPort = server.ports.http
  return {
    server,
    amqpPort,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    mqttPort,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    async stop() {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
