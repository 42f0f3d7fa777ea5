import { describe, expect, test } from 'bun:test'
import { startBroker } from '../helpers/broker.ts'
import { amqplibChannel, amqplibConnect, clientConnect, within } from '../helpers/amqp.ts'
import { RawAmqp } from '../helpers/raw_amqp.ts'

describe('broker shutdown', () => {
  test('server.stop() closes amqplib connections with 320 CONNECTION_FORCED', async () => {
    const broker = await startBroker()
    const { conn, watch } = await amqplibConnect(broker.amqpUrl)
    const { watch: chWatch } = await amqplibChannel(conn)
    await broker.stop()
    const error = await within(watch.closed, 5000, 'connection close')
    expect(error?.code).toBe(320)
    expect(error?.message).toContain('CONNECTION_FORCED')
    expect(chWatch.isClosed()).toBe(true)
  })

  test('server.stop() closes amqp-client connections with 320 CONNECTION_FORCED', async () => {
    const broker = await startBroker()
    const client = await clientConnect(broker.amqpUrl)
    const disconnected = new Promise<Error | undefined>((resolve) => {
      client.ondisconnect = resolve
    })
    await broker.stop()
    const error = await within(disconnected, 5000, 'disconnect')
    expect(error?.message).toContain('CONNECTION_FORCED')
    expect(error?.message).toContain('(320)')
  })

  test('server.stop() sends connection.close 320 and closes the socket after close-ok', async () => {
    const broker = await startBroker()
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.handshake()
    await raw.openChannel(1)
    const stopped = broker.stop()
    const close = await raw.expectConnectionClose(5000)
    expect(close.code).toBe(320)
    expect(close.text).toBe("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
    await raw.waitClosed(5000)
    await stopped
  })

  test('server.stop() refuses new connections afterwards', async () => {
    const broker = await startBroker()
    const port = broker.amqpPort
    await broker.stop()
    const outcome = await RawAmqp.open(port).then(
      (raw) => {
        raw.destroy()
        return 'connected'
      },
      () => 'refused',
    )
    expect(outcome).toBe('refused')
  })
})
