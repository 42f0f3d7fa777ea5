/**
 * What Warren says about itself in connection.start, in RabbitMQ's shape (clients read
 * `capabilities` to decide which extensions they may use).
 *
 * @module
 */
import { hostname } from 'node:os'
import process from 'node:process'
import type { Table } from '../../src/api.ts'
import { runtimeName } from '../../src/runtime/mod.ts'

/** Warren's version as announced to clients. */
export const WARREN_VERSION = '0.1.0'

/** The extensions Warren implements, as RabbitMQ announces them. */
const CAPABILITIES: Table = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  consumer_priorities: true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
}

function platform(): string {
  if (runtimeName === 'bun') return `Bun ${Bun.version}`
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno
  if (runtimeName === 'deno' && deno) return `Deno ${deno.version.deno}`
  return `Node.js ${process.version}`
}

let cached: Table | undefined

/** The server-properties table of connection.start (built once per process). */
export function serverProperties(): Table {
  cached ??= {
    product: 'Warren',
    version: WARREN_VERSION,
    platform: platform(),
    cluster_name: `warren@${hostname()}`,
    copyright: 'Copyright (c) Warren contributors',
    information: 'Licensed under the Apache License 2.0',
    capabilities: CAPABILITIES,
  }
  return cached
}
