import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig, wantsHelp, type ConfigInput } from '../../src/config.ts'
import { totalMemory } from '../../src/runtime/mod.ts'

const dir = mkdtempSync(join(tmpdir(), 'warren-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function configFile(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

function load(argv: string[] = [], env: Record<string, string | undefined> = {}, file?: ConfigInput) {
  return loadConfig({ argv, env, file })
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig defaults', () => {
  test('zero config gives RabbitMQ-like defaults', () => {
    const config = load()
    expect(config).toMatchObject({
      host: '::',
      amqpPort: 5672,
      mqttPort: 1883,
      httpPort: 15672,
      dataDir: './data',
      frameMax: 131072,
      channelMax: 2047,
      heartbeat: 60,
      maxMessageSize: 16 * 1024 * 1024,
      maxConnections: 0,
      defaultUser: { username: 'guest', password: 'guest' },
      loopbackUsers: ['guest'],
      logLevel: 'info',
    })
  })

  test('memoryHighWatermark defaults to 0.4 of total memory', () => {
    expect(load().memoryHighWatermark).toBe(Math.floor(0.4 * totalMemory()))
  })

  test('defaultUser keeps the default password when only the username is given', () => {
    expect(load([], {}, { defaultUser: { username: 'admin' } }).defaultUser).toEqual({ username: 'admin', password: 'guest' })
  })
})

describe('loadConfig precedence', () => {
  test('env sets ports, data dir and host', () => {
    const config = load([], {
      WARREN_AMQP_PORT: '5673',
      WARREN_MQTT_PORT: '1884',
      WARREN_HTTP_PORT: '0',
      WARREN_DATA_DIR: '/var/lib/warren',
      WARREN_HOST: '127.0.0.1',
      WARREN_LOG_LEVEL: 'debug',
      UNRELATED: 'x',
    })
    expect(config).toMatchObject({ amqpPort: 5673, mqttPort: 1884, httpPort: 0, dataDir: '/var/lib/warren', host: '127.0.0.1', logLevel: 'debug' })
  })

  test('an empty env variable counts as unset', () => {
    expect(load([], { WARREN_AMQP_PORT: '' }).amqpPort).toBe(5672)
  })

  test('flags win over env, env over the file argument', () => {
    const config = load(['--amqp-port', '6000', '--data-dir=/tmp/flag'], { WARREN_AMQP_PORT: '5000', WARREN_MQTT_PORT: '5001' }, {
      amqpPort: 4000,
      mqttPort: 4001,
      httpPort: 4002,
    })
    expect(config).toMatchObject({ amqpPort: 6000, mqttPort: 5001, httpPort: 4002, dataDir: '/tmp/flag' })
  })

  test('--config file is read, and the file argument overrides it', () => {
    const path = configFile({ amqpPort: 7000, heartbeat: 10, defaultUser: { username: 'admin', password: 'secret' } })
    const config = load(['--config', path], {}, { heartbeat: 20, defaultUser: { password: 'other' } })
    expect(config).toMatchObject({ amqpPort: 7000, heartbeat: 20, defaultUser: { username: 'admin', password: 'other' } })
  })

  test('all fields can come from a config file', () => {
    const path = configFile({ frameMax: 8192, channelMax: 10, maxMessageSize: 1024, maxConnections: 5, memoryHighWatermark: 1, loopbackUsers: [], logLevel: 'warn' })
    expect(load([`--config=${path}`])).toMatchObject({ frameMax: 8192, channelMax: 10, maxMessageSize: 1024, maxConnections: 5, memoryHighWatermark: 1, loopbackUsers: [], logLevel: 'warn' })
  })

  test('--help is accepted and detected', () => {
    expect(load(['--help']).amqpPort).toBe(5672)
    expect(wantsHelp(['--amqp-port', '1', '--help'])).toBe(true)
    expect(wantsHelp(['--amqp-port', '1'])).toBe(false)
  })
})

describe('loadConfig errors name the field and the problem', () => {
  test('a bad port flag', () => {
    const error = errorOf(() => load(['--amqp-port', 'abc']))
    expect(error.message).toBe('Invalid config: amqpPort (--amqp-port): expected a number from 0 to 65535, got "abc"')
    expect(error.field).toBe('amqpPort')
  })

  test('an out-of-range port from env', () => {
    expect(errorOf(() => load([], { WARREN_HTTP_PORT: '70000' })).message).toBe(
      'Invalid config: httpPort (WARREN_HTTP_PORT): expected a number from 0 to 65535, got 70000',
    )
  })

  test('a fractional port', () => {
    expect(errorOf(() => load(['--mqtt-port=1.5'])).message).toContain('mqttPort (--mqtt-port)')
  })

  test('an unknown flag', () => {
    expect(errorOf(() => load(['--amqp-prot', '1'])).message).toBe('Invalid config: unknown flag "--amqp-prot"')
    expect(errorOf(() => load(['stray'])).message).toContain('"stray"')
  })

  test('a flag without its value', () => {
    expect(errorOf(() => load(['--data-dir'])).message).toBe('Invalid config: --data-dir: expected a value')
    expect(errorOf(() => load(['--host', '--amqp-port', '1'])).message).toContain('--host')
  })

  test('frameMax below 4096', () => {
    expect(errorOf(() => load([], {}, { frameMax: 1000 })).message).toBe(
      'Invalid config: frameMax (config): expected an integer from 4096 to 4294967295, got 1000',
    )
  })

  test('an unknown field in a config file names the file', () => {
    const path = configFile({ amqp_port: 1 })
    expect(errorOf(() => load(['--config', path])).message).toBe(`Invalid config: unknown field "amqp_port" (config file ${path})`)
  })

  test('a nested field', () => {
    expect(errorOf(() => load([], {}, { defaultUser: { username: '' } })).message).toContain('defaultUser.username (config)')
  })

  test('a bad log level', () => {
    expect(errorOf(() => load([], {}, { logLevel: 'loud' as 'info' })).message).toContain('logLevel (config): expected one of')
  })

  test('a missing or malformed config file', () => {
    expect(errorOf(() => load(['--config', join(dir, 'missing.json')])).message).toContain('--config: cannot read')
    expect(errorOf(() => load(['--config', configFile('{ nope')])).message).toContain('is not valid JSON')
    expect(errorOf(() => load(['--config', configFile([1, 2])])).message).toContain('must hold a JSON object')
  })
})
