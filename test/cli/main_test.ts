// The real entry point in a child process: ready line, exit codes, and a clean SIGTERM.
import { afterEach, describe, expect, test } from 'bun:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import amqp from 'amqplib'

const ROOT = resolve(import.meta.dir, '../..')
const READY = /^Warren \S+ ready: amqp 127\.0\.0\.1:(\d+), mqtt 127\.0\.0\.1:\d+, http 127\.0\.0\.1:\d+ \(data (.+), runtime bun\)$/m

interface Child {
  proc: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>
}

const children: Child[] = []
const dirs: string[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.proc.kill('SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function run(args: string[]): Child {
  const proc = spawn(process.execPath, ['src/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk))
  proc.stderr!.on('data', (chunk: Buffer) => (err += chunk))
  const exited = new Promise<number | string>((done) => proc.on('exit', (code, signal) => done(code ?? signal ?? -1)))
  const child = { proc, stdout: () => out, stderr: () => err, exited }
  children.push(child)
  return child
}

/** Reads stdout until the ready line appears; fails fast if the process exits first. */
function ready(child: Child, timeout = 10_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in ${timeout} ms:\n${child.stdout()}${child.stderr()}`)), timeout)
    const check = () => {
      const match = child.stdout().match(READY)
      if (!match) return
      clearTimeout(timer)
      resolve(match)
    }
    child.proc.stdout!.on('data', check)
    check()
    child.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before ready:\n${child.stdout()}${child.stderr()}`))
    })
  })
}

function startArgs(): string[] {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'warren-main-')), 'nested', 'data')
  dirs.push(resolve(dataDir, '../..'))
  return ['--amqp-port', '0', '--mqtt-port', '0', '--http-port', '0', '--data-dir', dataDir, '--host', '127.0.0.1']
}

describe('main', () => {
  test('--help prints usage and exits 0', async () => {
    const child = run(['--help'])
    expect(await child.exited).toBe(0)
    expect(child.stdout()).toContain('Usage: warren')
    expect(child.stdout()).toContain('--amqp-port')
  })

  test('an unknown flag exits 2 naming the flag', async () => {
    const child = run(['--amqp-prot', '5672'])
    expect(await child.exited).toBe(2)
    expect(child.stderr()).toContain('unknown flag "--amqp-prot"')
    expect(child.stderr()).toContain('--help')
  })

  test('an invalid value exits 2 naming the field and flag', async () => {
    const child = run(['--amqp-port', 'abc'])
    expect(await child.exited).toBe(2)
    expect(child.stderr()).toContain('Invalid config: amqpPort (--amqp-port): expected a number from 0 to 65535, got "abc"')
  })

  test('prints one ready line with the bound port, then SIGTERM exits 0', async () => {
    const args = startArgs()
    const child = run(args)
    const match = await ready(child)
    expect(Number(match[1])).toBeGreaterThan(0)
    const dataDir = args[args.indexOf('--data-dir') + 1]!
    expect(match[2]).toBe(dataDir)
    expect(existsSync(dataDir)).toBe(true) // created with its missing parents
    expect(child.stdout().trim().split('\n')).toHaveLength(1)
    child.proc.kill('SIGTERM')
    expect(await child.exited).toBe(0)
  })

  test('SIGTERM closes a connected amqplib client with 320 CONNECTION_FORCED, then exits 0', async () => {
    const child = run(startArgs())
    const port = Number((await ready(child))[1])
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`)
    const errors: (Error & { code?: number })[] = []
    connection.on('error', (error: Error) => errors.push(error))
    const closed = new Promise<(Error & { code?: number }) | undefined>((done) => connection.on('close', done))
    child.proc.kill('SIGTERM')
    const error = await closed
    expect(error?.code).toBe(320)
    expect(error?.message).toContain("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
    expect(await child.exited).toBe(0)
  })

  test('a port already in use exits 1 with the reason', async () => {
    const first = run(startArgs())
    const port = (await ready(first))[1]!
    const args = startArgs()
    args[args.indexOf('--amqp-port') + 1] = port
    const second = run(args)
    expect(await second.exited).toBe(1)
    expect(second.stderr()).toContain('Warren failed to start')
  })

  test('SIGINT stops the same way', async () => {
    const child = run(startArgs())
    await ready(child)
    child.proc.kill('SIGINT')
    expect(await child.exited).toBe(0)
  })
})
