/**
 * Child process: opens `connections` MQTT 3.1.1 connections (CONNECT/CONNACK done, clean
 * session, keep alive `keepalive` seconds, nothing subscribed) in waves of `concurrency`, reports
 * `ready { opened }`, and holds them until the parent stops it or `holdMs` passes.
 *
 * @module
 */

import { MqttClient } from '../mqtt/client.ts'
import { emit, exit, fail, roleArgs } from './io.ts'

export interface MqttIdleArgs {
  host: string
  port: number
  clientIdPrefix: string
  connections: number
  concurrency: number
  keepalive: number
  /** Upper bound on this process's life after `ready`, ms. */
  holdMs: number
}

async function main(): Promise<void> {
  const args = roleArgs<MqttIdleArgs>()
  const clients: MqttClient[] = []
  let settled = false
  // In waves: bounded by `connections`.
  for (let i = 0; i < args.connections; i += args.concurrency) {
    const wave = Math.min(args.concurrency, args.connections - i)
    const opened = await Promise.all(
      Array.from({ length: wave }, (_, j) => MqttClient.connect({ host: args.host, port: args.port, clientId: `${args.clientIdPrefix}-${i + j}`, keepalive: args.keepalive })),
    )
    for (const c of opened) {
      c.closed.then((err) => err && !settled && fail(new Error(`an idle connection was closed: ${err.message}`)))
      clients.push(c)
    }
  }
  // SIGTERM from the parent (Child.terminate): DISCONNECT every connection, bounded in time.
  process.on('SIGTERM', () => {
    settled = true
    void Promise.all(clients.map((c) => c.close(2000).catch(() => c.destroy()))).then(() => exit(0))
  })
  emit('ready', { opened: clients.length })
  await new Promise((resolve) => setTimeout(resolve, args.holdMs))
  settled = true
  for (const c of clients) c.destroy()
  exit(0)
}

main().catch(fail)
