/**
 * Warren's configuration: one zod schema whose defaults make a zero-config start work, and
 * `loadConfig`, which layers defaults < config file (`--config`) < the `file` argument < env <
 * CLI flags and names the field and its source in every error.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { totalMemory } from './runtime/mod.ts'

const MiB = 1024 * 1024
const port = z.number().int().min(0).max(65535)

export const configSchema = z
  .object({
    /** Interface every listener binds. */
    host: z.string().min(1).default('::'),
    /** 0 picks a free port (tests). */
    amqpPort: port.default(5672),
    mqttPort: port.default(1883),
    httpPort: port.default(15672),
    dataDir: z.string().min(1).default('./data'),
    /**
     * Bytes of persistent message bodies durable queues keep in memory; beyond it bodies live
     * on disk only and are read back just before delivery.
     */
    storeMemoryLimit: z.number().int().min(0).default(64 * MiB),
    /**
     * Bytes of transient message bodies queues keep in memory (the memory pressure at which
     * they start to page out); beyond it new ones are written to disk and read back on delivery.
     */
    transientMemoryLimit: z.number().int().min(0).default(512 * MiB),
    /** Largest AMQP frame the server accepts and offers in connection.tune. */
    frameMax: z.number().int().min(4096).max(0xffffffff).default(131072),
    /** As RabbitMQ's channel_max: 0 means the protocol maximum. */
    channelMax: z.number().int().min(0).max(65535).default(2047),
    /** Heartbeat the server proposes, in seconds; 0 disables. */
    heartbeat: z.number().int().min(0).max(65535).default(60),
    /** As RabbitMQ 4: 16 MiB default, 512 MiB ceiling. */
    maxMessageSize: z.number().int().min(1).max(512 * MiB).default(16 * MiB),
    /** 0 means unlimited. */
    maxConnections: z.number().int().min(0).default(0),
    /** Bytes held above which publishers are blocked (RabbitMQ vm_memory_high_watermark 0.4); 0 disables. */
    memoryHighWatermark: z
      .number()
      .int()
      .min(0)
      .default(() => Math.floor(0.4 * totalMemory())),
    /**
     * Free bytes on the data directory's filesystem below which publishers are blocked (RabbitMQ
     * disk_free_limit, default 50 MB); 0 disables the disk alarm.
     */
    diskFreeLimit: z.number().int().min(0).default(50_000_000),
    /** Created on first start when the data dir has no users. */
    defaultUser: z
      .object({ username: z.string().min(1).default('guest'), password: z.string().default('guest') })
      .strict()
      .prefault({}),
    /** Users who may only connect from loopback, as RabbitMQ's loopback_users. */
    loopbackUsers: z.array(z.string()).default(['guest']),
    /** Largest MQTT packet accepted (checked from the fixed header, before buffering), bytes. */
    mqttMaxPacketSize: z.number().int().min(64).max(268435460).default(16 * MiB),
    /** The vhost of MQTT clients whose username has no "vhost:" prefix (RabbitMQ's mqtt.vhost). */
    mqttDefaultVhost: z.string().min(1).default('/'),
    /** The topic exchange MQTT publishes to and subscribes on, in every vhost (RabbitMQ's mqtt.exchange). */
    mqttExchange: z.string().min(1).default('amq.topic'),
    /** In-flight QoS 1/2 deliveries per MQTT client that sets no Receive Maximum (v3.1, v3.1.1). */
    mqttReceiveMaximum: z.number().int().min(1).max(65535).default(256),
    /**
     * The Receive Maximum announced to MQTT 5 clients: QoS 2 messages a client may have awaiting
     * PUBREL at once; one more is DISCONNECT 0x93 (Receive maximum exceeded).
     */
    mqttServerReceiveMaximum: z.number().int().min(1).max(65535).default(256),
    /** Ceiling on an MQTT session's expiry, seconds; also the expiry of v3 persistent sessions. */
    mqttMaxSessionExpiry: z.number().int().min(0).max(0xffffffff).default(86400),
    /** Most messages an MQTT session queue holds; the oldest are dropped beyond it. */
    mqttSessionQueueLimit: z.number().int().min(1).default(10000),
    /**
     * MQTT topic semantics (the default): '.', '*' and '%' inside an MQTT topic level are
     * percent-escaped in the AMQP routing key ("%2E", "%2A", "%25"), so "a/v1.2" stays two levels
     * and matches "a/+" as in any MQTT broker; AMQP publishers and bindings see such a dot as
     * "%2E". false: RabbitMQ's lossy mapping, where '.' inside a level is an AMQP word separator
     * ("a/v1.2" matches "a/v1/2") and a literal '*' level in a filter is a wildcard.
     * Also applies to the HTTP topics (POST /api/topics, SSE `filter`).
     */
    mqttTopicDotEscaping: z.boolean().default(true),
    /** MQTT clients without a username log in with defaultUser's credentials (RabbitMQ's allow_anonymous). */
    mqttAllowAnonymous: z.boolean().default(true),
    /**
     * Longest MQTT keep alive granted, seconds: a v5 client asking for more is told this one
     * through Server Keep Alive (a keep alive of 0, off, is left alone); 0 = no limit.
     */
    mqttMaxKeepAlive: z.number().int().min(0).max(65535).default(60),
    /** Topic aliases an MQTT 5 client may use towards the server (and the server's own cap the other way). */
    mqttTopicAliasMaximum: z.number().int().min(0).max(65535).default(64),
    /**
     * Origins a browser page may call the HTTP API from (CORS). "*" allows any origin without
     * credentials; empty (the default) sends no CORS headers.
     */
    httpCorsOrigins: z.array(z.string().min(1)).default([]),
    /** Largest HTTP request body, bytes (413 above). Default: maxMessageSize as base64 JSON. */
    httpMaxBodySize: z.number().int().min(1).optional(),
    /** Seconds a login token (POST /api/login) lives after its last use. */
    httpTokenTtl: z.number().int().min(1).max(30 * 86400).default(3600),
    /** Interval of the ": ping" comment on every Server-Sent Events response, ms. */
    sseHeartbeatMs: z.number().int().min(10).max(60_000).default(15_000),
    /** How long an EventSource waits before reconnecting (the `retry:` the server announces), ms. */
    sseRetryMs: z.number().int().min(0).max(3_600_000).default(1000),
    /** Unconfirmed deliveries per SSE queue stream when its URL sets no `prefetch`. */
    ssePrefetch: z.number().int().min(1).max(65535).default(256),
    /** Messages a live SSE subscription queue holds for a slow client; the oldest are dropped beyond it. */
    sseLiveQueueLimit: z.number().int().min(1).default(10_000),
    /** How long an SSE queue stream's unconfirmed messages wait for a reconnect before requeueing, ms. */
    sseResumeTimeoutMs: z.number().int().min(0).max(86_400_000).default(30_000),
    /** The levels of src/log.ts. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .strict()

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/** A bad flag, variable or config file; the message names the field, its source and the problem. */
export class ConfigError extends Error {
  /** The config field (or flag) at fault, when there is one. */
  readonly field: string | undefined
  constructor(message: string, field?: string) {
    super(message)
    this.name = 'ConfigError'
    this.field = field
  }
}

type Field = keyof Config

const FLAGS: Record<string, Field> = {
  '--amqp-port': 'amqpPort',
  '--mqtt-port': 'mqttPort',
  '--http-port': 'httpPort',
  '--data-dir': 'dataDir',
  '--host': 'host',
}

const ENV: Record<string, Field> = {
  WARREN_AMQP_PORT: 'amqpPort',
  WARREN_MQTT_PORT: 'mqttPort',
  WARREN_HTTP_PORT: 'httpPort',
  WARREN_DATA_DIR: 'dataDir',
  WARREN_HOST: 'host',
  WARREN_DISK_FREE_LIMIT: 'diskFreeLimit',
  // Also read by src/log.ts itself, so it applies before the config is loaded.
  WARREN_LOG_LEVEL: 'logLevel',
}

const NUMERIC = new Set<Field>(['amqpPort', 'mqttPort', 'httpPort', 'diskFreeLimit'])

/** What each field expects, for error messages that say more than zod's generic text. */
const EXPECTED: Partial<Record<Field, string>> = {
  amqpPort: 'expected a number from 0 to 65535',
  mqttPort: 'expected a number from 0 to 65535',
  httpPort: 'expected a number from 0 to 65535',
  host: 'expected a host name or address',
  dataDir: 'expected a directory path',
  storeMemoryLimit: 'expected a non-negative number of bytes',
  transientMemoryLimit: 'expected a non-negative number of bytes',
  frameMax: 'expected an integer from 4096 to 4294967295',
  channelMax: 'expected an integer from 0 to 65535',
  heartbeat: 'expected a number of seconds from 0 to 65535',
  maxMessageSize: 'expected a number of bytes from 1 to 536870912',
  maxConnections: 'expected a non-negative integer',
  memoryHighWatermark: 'expected a non-negative number of bytes',
  diskFreeLimit: 'expected a non-negative number of bytes',
  loopbackUsers: 'expected a list of user names',
  logLevel: 'expected one of debug, info, warn, error, silent',
  mqttMaxPacketSize: 'expected a number of bytes from 64 to 268435460',
  mqttReceiveMaximum: 'expected an integer from 1 to 65535',
  mqttServerReceiveMaximum: 'expected an integer from 1 to 65535',
  mqttMaxSessionExpiry: 'expected a number of seconds from 0 to 4294967295',
  mqttSessionQueueLimit: 'expected a positive integer',
  mqttMaxKeepAlive: 'expected a number of seconds from 0 to 65535',
  mqttTopicAliasMaximum: 'expected an integer from 0 to 65535',
  httpCorsOrigins: 'expected a list of origins such as "https://app.example.com", or "*"',
  httpMaxBodySize: 'expected a positive number of bytes',
  httpTokenTtl: 'expected a number of seconds from 1 to 2592000',
  sseHeartbeatMs: 'expected a number of milliseconds from 10 to 60000',
  sseRetryMs: 'expected a number of milliseconds from 0 to 3600000',
  ssePrefetch: 'expected an integer from 1 to 65535',
  sseLiveQueueLimit: 'expected a positive integer',
  sseResumeTimeoutMs: 'expected a number of milliseconds from 0 to 86400000',
}

export const usage = `Usage: warren [options]

Options:
  --amqp-port N    AMQP 0-9-1 port (default 5672, 0 picks a free port; env WARREN_AMQP_PORT)
  --mqtt-port N    MQTT port (default 1883; env WARREN_MQTT_PORT)
  --http-port N    HTTP API port (default 15672; env WARREN_HTTP_PORT)
  --data-dir DIR   where messages and definitions live (default ./data; env WARREN_DATA_DIR)
  --host HOST      interface to bind (default :: = all IPv6 and IPv4; env WARREN_HOST)
                   (log level: env WARREN_LOG_LEVEL = debug, info, warn, error or silent)
  --config FILE    JSON config file with any of the fields above in camelCase, and more
  --help           print this and exit`

/** True when the command line asks for usage. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h')
}

/**
 * Builds the effective configuration. Throws ConfigError on an unknown flag, a flag without a
 * value, an unreadable config file or any invalid value.
 */
export function loadConfig(sources: {
  argv: string[]
  env: Record<string, string | undefined>
  file?: ConfigInput
}): Config {
  const flags = parseArgv(sources.argv)
  const merged: Record<string, unknown> = {}
  const origin: Record<string, string> = {}
  const layer = (values: Record<string, unknown>, from: (key: string) => string) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue
      const previous = merged[key]
      merged[key] = isPlainObject(previous) && isPlainObject(value) ? { ...previous, ...value } : value
      origin[key] = from(key)
    }
  }

  if (flags.configFile !== undefined) {
    const path = flags.configFile
    layer(readConfigFile(path), () => `config file ${path}`)
  }
  if (sources.file) layer(sources.file, () => 'config')
  const envValues: Record<string, unknown> = {}
  const envNames: Record<string, string> = {}
  for (const [name, field] of Object.entries(ENV)) {
    const raw = sources.env[name]
    if (raw === undefined || raw === '') continue
    envValues[field] = coerce(field, raw)
    envNames[field] = name
  }
  layer(envValues, (key) => envNames[key]!)
  layer(flags.values, (key) => flags.names[key]!)

  const result = configSchema.safeParse(merged)
  if (result.success) return result.data
  throw toConfigError(result.error.issues[0]!, merged, origin)
}

interface ParsedArgv {
  values: Record<string, unknown>
  /** field -> the flag that set it, for error messages */
  names: Record<string, string>
  configFile: string | undefined
}

function parseArgv(argv: readonly string[]): ParsedArgv {
  const parsed: ParsedArgv = { values: {}, names: {}, configFile: undefined }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') continue
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const field = FLAGS[flag]
    if (field === undefined && flag !== '--config') {
      throw new ConfigError(`Invalid config: unknown flag "${flag}"`, flag)
    }
    let value: string | undefined
    if (flag !== arg) value = arg.slice(eq + 1)
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i]
    if (value === undefined) throw new ConfigError(`Invalid config: ${flag}: expected a value`, flag)
    if (field === undefined) {
      parsed.configFile = value
      continue
    }
    parsed.values[field] = coerce(field, value)
    parsed.names[field] = flag
  }
  return parsed
}

/** Env and flag values are strings; numeric fields become numbers when they look like one. */
function coerce(field: Field, raw: string): unknown {
  if (field === 'logLevel') return raw.toLowerCase() // as src/log.ts reads it
  if (!NUMERIC.has(field)) return raw
  const n = Number(raw)
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`Invalid config: --config: cannot read "${path}": ${(error as Error).message}`, '--config')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`Invalid config: --config: "${path}" is not valid JSON: ${(error as Error).message}`, '--config')
  }
  if (!isPlainObject(value)) {
    throw new ConfigError(`Invalid config: --config: "${path}" must hold a JSON object`, '--config')
  }
  return value
}

function toConfigError(issue: z.core.$ZodIssue, merged: Record<string, unknown>, origin: Record<string, string>): ConfigError {
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.length > 0 ? `${issue.path.join('.')}.` : ''
    const key = issue.path.length > 0 ? String(issue.path[0]) : issue.keys[0]!
    const from = origin[key] ? ` (${origin[key]})` : ''
    return new ConfigError(`Invalid config: unknown field "${parent}${issue.keys.join('", "')}"${from}`, `${parent}${issue.keys[0]}`)
  }
  const top = String(issue.path[0] ?? '')
  const field = issue.path.join('.')
  const from = origin[top] ? ` (${origin[top]})` : ''
  let value: unknown = merged
  for (const key of issue.path) value = isPlainObject(value) ? value[key as string] : undefined
  const expected = issue.path.length === 1 ? EXPECTED[top as Field] : undefined
  return new ConfigError(`Invalid config: ${field}${from}: ${expected ?? issue.message}, got ${JSON.stringify(value)}`, field)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
