/**
 * Entry point: `bun src/main.ts`, `node --import tsx src/main.ts`, `deno run -A src/main.ts`.
 * Parses the configuration, starts the server, prints one ready line, and on SIGINT/SIGTERM
 * closes every client with CONNECTION_FORCED before it exits 0.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { ConfigError, loadConfig, usage, wantsHelp, type Config } from './config.ts'
import { log } from './log.ts'
import { exit, onSignal, runtimeName } from './runtime/mod.ts'
import type { RunningServer } from './server.ts'

/** A stop that hangs (a stuck flush) must not keep the process from exiting. */
const STOP_TIMEOUT_MS = 10_000
/**
 * After stop, clients get this long to answer connection.close before the process exits; it
 * exits sooner, on its own, once the last socket has closed.
 */
const CLOSE_GRACE_MS = 2000

const version: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

async function main(argv: string[]): Promise<void> {
  if (wantsHelp(argv)) {
    console.log(usage)
    exit(0)
  }
  let config: Config
  try {
    config = loadConfig({ argv, env: process.env })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    console.error('Run with --help for usage.')
    exit(2)
  }
  log.level = config.logLevel

  // Handlers go in before anything starts: a signal that arrives during startup still stops
  // cleanly, and none can slip in between the ready line and their installation.
  let server: RunningServer | undefined
  let stopping = false
  const stop = (): void => {
    // A second signal while stopping means "now".
    if (stopping) exit(1)
    stopping = true
    if (!server) return // startServer is still running; stop once it returns
    setTimeout(() => {
      console.error('Warren: stop timed out, exiting')
      exit(1)
    }, STOP_TIMEOUT_MS).unref()
    server.stop().then(
      () => {
        process.exitCode = 0
        setTimeout(() => exit(0), CLOSE_GRACE_MS).unref()
      },
      (error: unknown) => {
        console.error(`Warren: error while stopping: ${(error as Error).message}`)
        exit(1)
      },
    )
  }
  onSignal('SIGINT', stop)
  onSignal('SIGTERM', stop)

  try {
    // Loaded only now, so --help and config errors answer without loading the core.
    const { startServer } = await import('./server.ts')
    server = await startServer(config)
  } catch (error) {
    console.error(`Warren failed to start: ${(error as Error).message}`)
    exit(1)
  }
  if (stopping) {
    stopping = false
    return stop()
  }
  console.log(
    `Warren ${version} ready: amqp ${config.host}:${server.ports.amqp}, mqtt ${config.host}:${server.ports.mqtt}, http ${config.host}:${server.ports.http} (data ${config.dataDir}, runtime ${runtimeName})`,
  )
}

await main(process.argv.slice(2))
