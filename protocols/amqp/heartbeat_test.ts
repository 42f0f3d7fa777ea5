import { describe, expect, test } from 'bun:test'
import { Heartbeat } from './heartbeat.ts'

describe('Heartbeat', () => {
  test('a silent peer times out after two periods, with heartbeats sent meanwhile', async () => {
    let sent = 0
    const started = Date.now()
    let heartbeat: Heartbeat | undefined
    await new Promise<void>((resolve) => {
      heartbeat = new Heartbeat({ seconds: 0.04, send: () => sent++, timeout: resolve })
    })
    heartbeat!.stop()
    expect(Date.now() - started).toBeGreaterThanOrEqual(70)
    expect(sent).toBeGreaterThanOrEqual(3)
  })

  test('no heartbeat is sent in a tick that already wrote bytes', async () => {
    let sent = 0
    let heartbeat: Heartbeat | undefined
    await new Promise<void>((resolve) => {
      heartbeat = new Heartbeat({
        seconds: 0.04,
        send: () => {
          sent++
          heartbeat!.markReceived()
          if (sent === 2) resolve()
        },
        timeout: () => {},
      })
      heartbeat.markSent()
    })
    heartbeat!.stop()
    expect(sent).toBe(2)
  })

  test('0 seconds disables it', () => {
    const heartbeat = new Heartbeat({ seconds: 0, send: () => {}, timeout: () => {} })
    heartbeat.stop()
  })
})
