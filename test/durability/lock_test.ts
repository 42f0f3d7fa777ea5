// One data directory, one broker: a second one on it refuses to start instead of corrupting it;
// the lock a killed broker leaves behind does not stop the next start.
import { afterAll, describe, expect, test } from 'bun:test'
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../helpers/wait.ts'
import { cleanup, startBrokerProcess, tempDataDir } from './broker_process.ts'

afterAll(cleanup)

describe('data directory lock', () => {
  test('a second broker on a directory in use exits 1 naming the holder; a killed holder does not block', async () => {
    const dataDir = tempDataDir()
    const first = await startBrokerProcess(dataDir)
    const error = await startBrokerProcess(dataDir).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).toContain('exited with 1')
    expect(error?.message).toContain(`it is in use by process ${first.proc.pid}`)
    await first.crash()
    const second = await startBrokerProcess(dataDir)
    expect(await second.stop()).toBe(0)
  }, 60_000)

  test('a holder that is a zombie (killed, not yet reaped by its parent) does not block the next start', async () => {
    // The background child exits after the shell has exec'd into sleep, which never reaps it:
    // a zombie (a child exiting before the exec could be reaped by the shell itself).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      let out = ''
      parent.stdout!.on('data', (chunk: Buffer) => (out += chunk))
      const pid = Number(await waitFor(() => out.trim(), { message: 'the zombie pid' }))
      await waitFor(() => readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), { message: `process ${pid} to be a zombie` })
      const dataDir = tempDataDir()
      mkdirSync(dataDir, { recursive: true })
      writeFileSync(join(dataDir, 'warren.lock'), `${pid}\n`)
      const broker = await startBrokerProcess(dataDir)
      expect(await broker.stop()).toBe(0)
    } finally {
      parent.kill('SIGKILL')
    }
  }, 60_000)
})
