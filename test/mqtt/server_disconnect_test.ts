import { describe, expect, test } from 'bun:test'
import { startBroker } from '../helpers/broker.ts'
import { connectMqtt, endAll, uniqueId } from '../helpers/mqtt.ts'
import { RC } from '../helpers/raw_mqtt.ts'

// The server ends connections itself with a DISCONNECT carrying a reason (v5). Takeover (0x8E)
// is in connect_test.ts, protocol errors in test/errors/mqtt_bad_input_test.ts.
describe('server DISCONNECT', () => {
  test('broker shutdown: v5 clients get DISCONNECT 0x8B Server shutting down, v3.1.1 clients are closed', async () => {
    const broker = await startBroker()
    let stopped = false
    try {
      const v5 = await connectMqtt(broker.mqttUrl, { version: 5, clientId: uniqueId('shutdown5') })
      const v4 = await connectMqtt(broker.mqttUrl, { version: 4, clientId: uniqueId('shutdown4') })
      await broker.stop()
      stopped = true
      const disconnect = await v5.waitDisconnect()
      expect(disconnect.reasonCode).toBe(RC.serverShuttingDown)
      await v5.waitClosed()
      await v4.waitClosed()
      // Nothing is listening any more.
      await expect(connectMqtt(broker.mqttUrl, { version: 5, connectTimeout: 2000 })).rejects.toThrow()
      await endAll(v5, v4)
    } finally {
      if (!stopped) await broker.stop()
    }
  })
})
