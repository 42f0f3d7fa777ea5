import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import amqp from 'amqplib'
import { AMQPClient } from '@cloudamqp/amqp-client'
import { startBroker, type TestBroker } from '../helpers/broker.ts'
import { amqplibConnect, clientCloseQuietly, clientConnect, closeQuietly, within } from '../helpers/amqp.ts'
import { RawAmqp } from '../helpers/raw_amqp.ts'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** The negotiated values amqplib keeps on its inner connection object. */
interface Negotiated {
  frameMax: number
  channelMax: number
  heartbeat: number
  serverProperties: Record<string, unknown> & { capabilities?: Record<string, unknown> }
}

function negotiated(conn: amqp.ChannelModel): Negotiated {
  return conn.connection as unknown as Negotiated
}

async function connectError(url: string): Promise<Error> {
  return await amqp.connect(url).then(
    async (conn) => {
      await conn.close()
      throw new Error('expected the connection to be refused')
    },
    (e: Error) => e,
  )
}

describe('connection.open', () => {
  test('connection.open accepts guest/guest on vhost "/" from 127.0.0.1 (amqplib)', async () => {
    const { conn } = await amqplibConnect(broker.amqpUrl)
    const ch = await conn.createChannel()
    await ch.close()
    await conn.close()
  })

  test('connection.open accepts guest/guest on vhost "/" from 127.0.0.1 (amqp-client)', async () => {
    const client = await clientConnect(broker.amqpUrl)
    expect(client.closed).toBe(false)
    const ch = await client.channel()
    await ch.close()
    await client.close()
  })

  test('connection.start-ok with a bad password is refused with 403 ACCESS_REFUSED (amqplib)', async () => {
    const error = await connectError(`amqp://guest:wrong@127.0.0.1:${broker.amqpPort}`)
    expect(error.message).toContain('403')
    expect(error.message).toContain(
      'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
    )
  })

  test('connection.start-ok with a bad password is refused with 403 ACCESS_REFUSED (amqp-client)', async () => {
    const client = new AMQPClient(`amqp://guest:wrong@127.0.0.1:${broker.amqpPort}`)
    client.onerror = () => {}
    const error = await client.connect().then(
      () => new Error('expected the connection to be refused'),
      (e: Error) => e,
    )
    expect(error.message).toContain('ACCESS_REFUSED')
    expect(error.message).toContain('(403)')
    await clientCloseQuietly(client)
  })

  test('connection.start-ok for an unknown user is refused with 403 ACCESS_REFUSED', async () => {
    const error = await connectError(`amqp://nobody:guest@127.0.0.1:${broker.amqpPort}`)
    expect(error.message).toContain('403')
    expect(error.message).toContain('ACCESS_REFUSED')
  })

  test('connection.start-ok with a bad password closes the socket for a client without authentication_failure_close', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    // RabbitMQ sends no connection.close here: it just closes the socket (after a short delay).
    const outcome = await raw.startOk({ password: 'wrong', capabilities: {} }).then(
      () => 'connection.tune',
      (e: Error) => e.message,
    )
    expect(outcome).not.toBe('connection.tune')
    // "expected method 10.30, got method 10.50" would mean a connection.close was sent.
    expect(outcome).not.toContain('expected method')
    await raw.waitClosed(6000)
    expect(raw.closed).toBe(true)
  })

  test('connection.open of an unknown vhost is refused with connection.close (amqplib)', async () => {
    // amqplib only reports the unexpected method here; the code and text are checked below.
    const error = await connectError(`amqp://guest:guest@127.0.0.1:${broker.amqpPort}/nope`)
    expect(error.message).toContain('Expected ConnectionOpenOk; got <ConnectionClose channel:0>')
  })

  test('connection.open of an unknown vhost is refused with 530 NOT_ALLOWED (amqp-client)', async () => {
    const client = new AMQPClient(`amqp://guest:guest@127.0.0.1:${broker.amqpPort}/nope`)
    client.onerror = () => {}
    const error = await client.connect().then(
      () => new Error('expected the connection to be refused'),
      (e: Error) => e,
    )
    expect(error.message).toContain('NOT_ALLOWED - vhost nope not found')
    expect(error.message).toContain('(530)')
    await clientCloseQuietly(client)
  })

  test('connection.open of an unknown vhost answers connection.close 530 on the wire', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    const tune = await raw.startOk()
    raw.tuneOk(tune)
    raw.open('no-such-vhost')
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(530)
    expect(close.text).toBe('NOT_ALLOWED - vhost no-such-vhost not found')
    expect([close.classId, close.methodId]).toEqual([10, 40])
    await raw.waitClosed()
  })
})

describe('connection.start', () => {
  test('connection.start offers AMQP 0-9 with PLAIN and en_US', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      const start = await raw.start()
      const args = start.payload.subarray(4)
      expect([args.readUInt8(0), args.readUInt8(1)]).toEqual([0, 9])
      const tableLength = args.readUInt32BE(2)
      let offset = 6 + tableLength
      const mechanismsLength = args.readUInt32BE(offset)
      const mechanisms = args.toString('utf8', offset + 4, offset + 4 + mechanismsLength).split(' ')
      offset += 4 + mechanismsLength
      const localesLength = args.readUInt32BE(offset)
      const locales = args.toString('utf8', offset + 4, offset + 4 + localesLength).split(' ')
      expect(mechanisms).toContain('PLAIN')
      expect(locales).toContain('en_US')
    } finally {
      raw.destroy()
    }
  })

  test('connection.start server-properties advertise the capabilities RabbitMQ advertises', async () => {
    const { conn } = await amqplibConnect(broker.amqpUrl)
    try {
      const props = negotiated(conn).serverProperties
      expect(props.capabilities).toEqual({
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        consumer_priorities: true,
        authentication_failure_close: true,
        per_consumer_qos: true,
        direct_reply_to: true,
      })
      expect(typeof props.product).toBe('string')
      expect(typeof props.version).toBe('string')
      expect(typeof props.platform).toBe('string')
    } finally {
      await conn.close()
    }
  })
})

describe('connection.tune', () => {
  test('connection.tune proposes frame_max 131072, channel_max 2047, heartbeat 60', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    try {
      await raw.start()
      expect(await raw.startOk()).toEqual({ frameMax: 131072, channelMax: 2047, heartbeat: 60 })
    } finally {
      raw.destroy()
    }
  })

  test('amqplib sees frame_max 131072, channel_max 2047 and heartbeat 60 by default', async () => {
    const { conn } = await amqplibConnect(broker.amqpUrl)
    try {
      const n = negotiated(conn)
      expect(n.frameMax).toBe(131072)
      expect(n.channelMax).toBe(2047)
      expect(n.heartbeat).toBe(60)
    } finally {
      await conn.close()
    }
  })

  test('connection.tune-ok with smaller values is honoured (amqplib)', async () => {
    const { conn } = await amqplibConnect(`${broker.amqpUrl}?frameMax=8192&channelMax=16&heartbeat=5`)
    try {
      const n = negotiated(conn)
      expect(n.frameMax).toBe(8192)
      expect(n.channelMax).toBe(16)
      expect(n.heartbeat).toBe(5)
      const ch = await conn.createChannel()
      const { queue } = await ch.assertQueue('', { exclusive: true })
      const body = Buffer.alloc(50_000, 7)
      ch.sendToQueue(queue, body)
      const msg = await within(
        new Promise<amqp.ConsumeMessage>((resolve) => {
          void ch.consume(queue, (m) => m && resolve(m), { noAck: true })
        }),
        5000,
        'the 50 KB message',
      )
      expect(msg.content.equals(body)).toBe(true)
    } finally {
      await closeQuietly(conn)
    }
  })

  test('connection.tune-ok with a smaller frame_max makes the server split bodies (amqp-client, frameMax 8192)', async () => {
    // amqp-client's read buffer is frameMax bytes: a larger frame from the server would break it.
    const client = await clientConnect(`${broker.amqpUrl}?frameMax=8192`)
    try {
      expect(client.frameMax).toBe(8192)
      expect(client.channelMax).toBe(2047)
      const ch = await client.channel()
      const q = await ch.queueDeclare('', { exclusive: true })
      const body = new Uint8Array(100_000).map((_, i) => i % 251)
      await ch.basicPublish('', q.name, body)
      const msg = await within(
        new Promise<Uint8Array>((resolve) => {
          void ch.basicConsume(q.name, { noAck: true }, (m) => resolve(m.body as Uint8Array))
        }),
        5000,
        'the 100 KB message',
      )
      expect(Buffer.from(msg).equals(Buffer.from(body))).toBe(true)
    } finally {
      await clientCloseQuietly(client)
    }
  })

  test('connection.tune-ok with frame_max above the server maximum is refused with 530 NOT_ALLOWED', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    const tune = await raw.startOk()
    raw.tuneOk({ ...tune, frameMax: 1_000_000 })
    raw.open('/')
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(530)
    expect(close.text).toContain('NOT_ALLOWED - negotiated frame_max = 1000000')
    await raw.waitClosed()
  })

  test('connection.tune-ok with frame_max below 4096 is refused with 530 NOT_ALLOWED', async () => {
    const raw = await RawAmqp.open(broker.amqpPort)
    await raw.start()
    const tune = await raw.startOk()
    raw.tuneOk({ ...tune, frameMax: 1024 })
    raw.open('/')
    const close = await raw.expectConnectionClose()
    expect(close.code).toBe(530)
    expect(close.text).toBe('NOT_ALLOWED - negotiated frame_max = 1024 is lower than the minimum allowed value (4096)')
    // rabbit_reader reports negotiation failures against connection.tune.
    expect([close.classId, close.methodId]).toEqual([10, 30])
    await raw.waitClosed()
  })
})
