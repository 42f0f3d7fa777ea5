// One data directory, one broker: a second one on it refuses to start instead of corrupting it;
// the lock a killed broker leaves behind does not stop the next start.
import { afterAll, describe, expect, test } from 'bun:test'
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
})
