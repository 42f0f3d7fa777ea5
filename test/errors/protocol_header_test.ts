import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { assertBrokerServes } from '../helpers/amqp.ts'
import { AMQP_0_9_1_HEADER, RawAmqp } from '../helpers/raw_amqp.ts'

// The spec (section 4.2.2): a server that cannot use the client's protocol header answers with
// the header it supports and closes the socket. RabbitMQ 4 answers a non-AMQP header with the
// AMQP 1.0 SASL header because it also speaks 1.0; Warren speaks only 0-9-1.
let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterEach(async () => {
  await assertBrokerServes(broker.amqpUrl)
})

afterAll(async () => {
  await broker?.stop()
})

async function refusedWith(bytes: Buffer): Promise<Buffer> {
  const raw = await RawAmqp.open(broker.amqpPort)
  raw.write(bytes)
  await raw.waitClosed(5000)
  return raw.receivedBytes()
}

describe('protocol header', () => {
  test('a newer AMQP 0-9 revision header is answered with AMQP 0-9-1 and closed', async () => {
    expect(await refusedWith(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 2]))).toEqual(AMQP_0_9_1_HEADER)
  })

  test('an AMQP 0-10 header is answered with AMQP 0-9-1 and closed', async () => {
    expect(await refusedWith(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 10]))).toEqual(AMQP_0_9_1_HEADER)
  })

  test('an HTTP request is answered with AMQP 0-9-1 and closed', async () => {
    expect(await refusedWith(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'))).toEqual(AMQP_0_9_1_HEADER)
  })

  test('"HTTP/1.1" as a header is answered with AMQP 0-9-1 and closed', async () => {
    expect(await refusedWith(Buffer.from('HTTP/1.1'))).toEqual(AMQP_0_9_1_HEADER)
  })

  test('garbage before the protocol header is answered with AMQP 0-9-1 and closed', async () => {
    expect(await refusedWith(Buffer.concat([Buffer.from('xx'), AMQP_0_9_1_HEADER]))).toEqual(AMQP_0_9_1_HEADER)
  })

  test('a TLS client hello on the plain port is answered with AMQP 0-9-1 and closed', async () => {
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03])
    expect(await refusedWith(hello)).toEqual(AMQP_0_9_1_HEADER)
  })

  test('a method frame instead of the protocol header is answered with AMQP 0-9-1 and closed', async () => {
    const frame = Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 11, 0xce])
    expect(await refusedWith(frame)).toEqual(AMQP_0_9_1_HEADER)
  })

  test('the protocol header sent twice gets the connection closed', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    raw.write(AMQP_0_9_1_HEADER)
    await raw.waitClosed(6000)
  })
})
