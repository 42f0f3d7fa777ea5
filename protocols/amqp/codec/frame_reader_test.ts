import { describe, expect, test } from 'bun:test'
import { ReplyCode } from '../spec/generated.ts'
import { AmqpError } from './errors.ts'
import { type FrameHandler, FrameReader } from './frame_reader.ts'
import { FrameWriter } from './frame_writer.ts'

interface Seen {
  headers: number[][]
  frames: [number, number, string][]
}

function collect(frameMax = 131072): { reader: FrameReader; seen: Seen; payloads: Uint8Array[] } {
  const seen: Seen = { headers: [], frames: [] }
  const payloads: Uint8Array[] = []
  const handler: FrameHandler = {
    onProtocolHeader: (header) => seen.headers.push([...header]),
    onFrame: (type, channel, payload) => {
      seen.frames.push([type, channel, Buffer.from(payload).toString('hex')])
      payloads.push(payload)
    },
  }
  return { reader: new FrameReader(handler, { frameMax }), seen, payloads }
}

const PROTOCOL_HEADER = [0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]

/** Protocol header + method + content header + two body frames + heartbeat, as one buffer. */
function stream(): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(PROTOCOL_HEADER)]
  const writer = new FrameWriter((chunk) => parts.push(chunk.slice()) > 0)
  writer.frameMax = 4096
  writer.writeMethod(3, 'basic.publish', { exchange: 'amq.direct', routingKey: 'key' })
  writer.writeContent(3, 60, { contentType: 'text/plain' }, new Uint8Array(5000).fill(7))
  writer.writeHeartbeat()
  writer.flush()
  return Buffer.concat(parts)
}

function readError(reader: FrameReader, ...chunks: number[][]): AmqpError {
  try {
    for (const chunk of chunks) reader.push(new Uint8Array(chunk))
  } catch (error) {
    if (error instanceof AmqpError) return error
    throw error
  }
  throw new Error('expected an AmqpError')
}

describe('FrameReader', () => {
  test('delivers the protocol header and every frame of a whole buffer', () => {
    const { reader, seen } = collect()
    reader.push(stream())
    expect(seen.headers).toEqual([PROTOCOL_HEADER])
    expect(seen.frames.map(([type, channel, payload]) => [type, channel, payload.length / 2])).toEqual([
      [1, 3, 4 + 2 + 11 + 4 + 1],
      [2, 3, 14 + 11],
      [3, 3, 4088],
      [3, 3, 912],
      [8, 0, 0],
    ])
  })

  test('reassembles frames at every split point, also into three chunks', () => {
    const all = stream()
    const whole = collect()
    whole.reader.push(all)
    for (let i = 0; i <= all.length; i++) {
      const { reader, seen } = collect()
      reader.push(all.subarray(0, i))
      reader.push(all.subarray(i))
      expect(seen).toEqual(whole.seen)
    }
    for (let i = 1; i < all.length; i += 97) {
      for (let j = i; j < all.length; j += 89) {
        const { reader, seen } = collect()
        reader.push(all.subarray(0, i))
        reader.push(all.subarray(i, j))
        reader.push(all.subarray(j))
        expect(seen).toEqual(whole.seen)
      }
    }
  })

  test('one byte at a time', () => {
    const all = stream()
    const whole = collect()
    whole.reader.push(all)
    const { reader, seen } = collect()
    for (let i = 0; i < all.length; i++) reader.push(all.subarray(i, i + 1))
    expect(seen).toEqual(whole.seen)
  })

  test('frames wholly inside a chunk are subarrays of it, not copies', () => {
    const all = stream()
    const { reader, payloads } = collect()
    reader.push(all)
    for (const payload of payloads) expect(payload.buffer).toBe(all.buffer)
  })

  test('a frame over frameMax is refused from its 7-byte header, before the payload arrives', () => {
    const { reader, seen } = collect(4096)
    reader.push(new Uint8Array(PROTOCOL_HEADER))
    // A 4097-byte method frame: only its header is pushed.
    const e = readError(reader, [1, 0, 1, 0, 0, 0x10, 0x01])
    expect(e.replyCode).toBe(ReplyCode.FRAME_ERROR)
    expect(e.scope).toBe('connection')
    expect(e.message).toBe('type 1, all octets = <<>>: {frame_too_large,4097,4088}')
    expect(seen.frames).toEqual([])
  })

  test('a payload of exactly frameMax passes, as RabbitMQ lets clients off by 8', () => {
    const { reader, seen } = collect(4096)
    reader.push(new Uint8Array(PROTOCOL_HEADER))
    const frame = new Uint8Array(4096 + 8)
    frame.set([3, 0, 1, 0, 0, 0x10, 0x00])
    frame[frame.length - 1] = 206
    reader.push(frame)
    expect(seen.frames.length).toBe(1)
  })

  test('frameMax 0 means no limit and can be changed after tune-ok', () => {
    const { reader, seen } = collect(0)
    reader.push(new Uint8Array(PROTOCOL_HEADER))
    const frame = new Uint8Array(200000 + 8)
    frame.set([3, 0, 1, 0, 3, 0x0d, 0x40])
    frame[frame.length - 1] = 206
    reader.push(frame)
    expect(seen.frames.length).toBe(1)
    reader.frameMax = 4096
    expect(() => reader.push(frame)).toThrow(AmqpError)
  })

  test('a bad frame-end octet is 501 with the payload snippet', () => {
    const { reader } = collect()
    const e = readError(reader, PROTOCOL_HEADER, [1, 0, 1, 0, 0, 0, 2, 0x41, 0x42, 0x43])
    expect(e.replyCode).toBe(ReplyCode.FRAME_ERROR)
    expect(e.message).toBe('type 1, all octets = <<"AB">>: {invalid_frame_end_marker,67}')
  })

  test('a long payload is shown by its first 16 octets', () => {
    const payload = new Array(20).fill(0x61)
    const e = readError(collect().reader, PROTOCOL_HEADER, [1, 0, 1, 0, 0, 0, 20, ...payload, 0])
    expect(e.message).toBe(`type 1, first 16 octets = <<"${'a'.repeat(16)}">>: {invalid_frame_end_marker,0}`)
  })

  test('an unknown frame type is 501, and so is a heartbeat with a payload', () => {
    const unknown = readError(collect().reader, PROTOCOL_HEADER, [5, 0, 0, 0, 0, 0, 1, 9, 206])
    expect(unknown.message).toBe('type 5, all octets = <<9>>: unknown_frame')
    const heartbeat = readError(collect().reader, PROTOCOL_HEADER, [8, 0, 0, 0, 0, 0, 1, 9, 206])
    expect(heartbeat.message).toBe('type 8, all octets = <<9>>: unknown_frame')
  })

  test('after an error or stop() the reader ignores further input', () => {
    const { reader, seen } = collect()
    readError(reader, PROTOCOL_HEADER, [5, 0, 0, 0, 0, 0, 0, 206])
    reader.push(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 206]))
    expect(seen.frames).toEqual([])

    const stopped = collect()
    stopped.reader.push(new Uint8Array(PROTOCOL_HEADER))
    stopped.reader.stop()
    stopped.reader.push(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 206]))
    expect(stopped.seen.frames).toEqual([])
  })

  test('a handler may stop the reader; the rest of the chunk is not delivered', () => {
    let reader: FrameReader | undefined
    const frames: number[] = []
    reader = new FrameReader(
      {
        onProtocolHeader: () => reader?.stop(),
        onFrame: (type) => frames.push(type),
      },
      { frameMax: 0 },
    )
    reader.push(new Uint8Array([0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 8, 0, 0, 0, 0, 0, 0, 206]))
    expect(frames).toEqual([])
  })
})
