import { describe, expect, test } from 'bun:test'
import { FrameReader } from './frame_reader.ts'
import { FrameWriter } from './frame_writer.ts'
import { decodeMethod } from './methods.ts'

function writer(result = true): { writer: FrameWriter; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = []
  const w = new FrameWriter((chunk) => {
    chunks.push(chunk)
    return result
  })
  return { writer: w, chunks }
}

/** Parses frames back (after a fake protocol header) into [type, channel, payload] triples. */
function frames(chunks: Uint8Array[]): [number, number, Uint8Array][] {
  const out: [number, number, Uint8Array][] = []
  const reader = new FrameReader(
    { onProtocolHeader: () => {}, onFrame: (type, channel, payload) => out.push([type, channel, payload.slice()]) },
    { frameMax: 0 },
  )
  reader.push(new Uint8Array(8))
  for (const chunk of chunks) reader.push(chunk)
  return out
}

describe('FrameWriter', () => {
  test('batches frames until flush and then hands the sink one chunk', () => {
    const { writer: w, chunks } = writer()
    expect(w.flush()).toBe(true)
    for (let tag = 1; tag <= 100; tag++) {
      w.writeMethod(1, 'basic.deliver', { consumerTag: 'c', deliveryTag: tag, exchange: '', routingKey: 'q' })
      w.writeContent(1, 60, {}, new Uint8Array([tag]))
    }
    expect(chunks).toEqual([])
    expect(w.pendingBytes).toBeGreaterThan(100 * 3 * 8)
    const pending = w.pendingBytes
    expect(w.flush()).toBe(true)
    expect(chunks.length).toBe(1)
    expect(chunks[0]!.length).toBe(pending)
    expect(w.pendingBytes).toBe(0)
    const parsed = frames(chunks)
    expect(parsed.length).toBe(300)
    expect(decodeMethod(parsed[297]![2]).args).toMatchObject({ deliveryTag: 100 })
  })

  test("flush returns the sink's last result", () => {
    const { writer: w } = writer(false)
    w.writeHeartbeat()
    expect(w.flush()).toBe(false)
    expect(w.flush()).toBe(true)
  })

  test('bytes handed to the sink are never overwritten by later frames', () => {
    const { writer: w, chunks } = writer()
    const copies: number[][] = []
    // Enough small frames to fill several 64 KiB batch buffers.
    for (let round = 0; round < 3000; round++) {
      w.writeMethod(round % 65536, 'basic.ack', { deliveryTag: round })
      w.writeContent(1, 60, { messageId: `m${round}` }, new Uint8Array(40).fill(round & 0xff))
      if (round % 7 === 0) {
        w.flush()
        copies.push([...chunks.at(-1)!])
      }
    }
    w.flush()
    const flushed = chunks.filter((_, i) => i < copies.length)
    flushed.forEach((chunk, i) => expect([...chunk]).toEqual(copies[i]!))
    expect(frames(chunks).length).toBe(3000 * 3)
  })

  test('bodies are split so that no frame exceeds frameMax', () => {
    const { writer: w, chunks } = writer()
    w.frameMax = 4096
    const body = new Uint8Array(10000).map((_, i) => i & 0xff)
    w.writeContent(5, 60, { contentType: 'a/b' }, body)
    w.flush()
    const parsed = frames(chunks)
    expect(parsed.map(([type, channel, payload]) => [type, channel, payload.length])).toEqual([
      [2, 5, 14 + 4],
      [3, 5, 4088],
      [3, 5, 4088],
      [3, 5, 1824],
    ])
    expect(Buffer.concat(parsed.slice(1).map(([, , p]) => p))).toEqual(Buffer.from(body))
  })

  test('an empty body is a header frame only', () => {
    const { writer: w, chunks } = writer()
    w.writeContent(1, 60, {}, new Uint8Array(0))
    w.flush()
    expect(frames(chunks).map(([type]) => type)).toEqual([2])
  })

  test('large bodies go to the sink by reference, in order, between batch chunks', () => {
    const { writer: w, chunks } = writer()
    const big = new Uint8Array(100000).fill(9)
    w.writeMethod(1, 'basic.deliver', { consumerTag: 'c', deliveryTag: 1, exchange: '', routingKey: 'q' })
    w.writeContent(1, 60, {}, big)
    w.writeMethod(1, 'basic.deliver', { consumerTag: 'c', deliveryTag: 2, exchange: '', routingKey: 'q' })
    w.writeContent(1, 60, {}, new Uint8Array([1, 2, 3]))
    expect(chunks).toEqual([])
    w.flush()
    // batch, body, batch (frame end + next frames)
    expect(chunks.length).toBe(3)
    expect(chunks[1]!.buffer).toBe(big.buffer)
    expect(chunks[1]!.length).toBe(100000)
    const parsed = frames(chunks)
    expect(parsed.map(([type, , payload]) => [type, payload.length])).toEqual([
      [1, 18],
      [2, 14],
      [3, 100000],
      [1, 18],
      [2, 14],
      [3, 3],
    ])
  })

  test('arguments that cannot be encoded throw and leave no half-written frame', () => {
    const { writer: w, chunks } = writer()
    w.writeHeartbeat()
    expect(() => w.writeMethod(1, 'basic.publish', { routingKey: 'x'.repeat(256) })).toThrow(RangeError)
    expect(() => w.writeContent(1, 60, { messageId: 'x'.repeat(256) }, new Uint8Array(1))).toThrow(RangeError)
    expect(w.pendingBytes).toBe(8)
    w.writeHeartbeat()
    w.flush()
    expect(frames(chunks).map(([type]) => type)).toEqual([8, 8])
  })

  test('writeProtocolHeader writes AMQP 0 0 9 1', () => {
    const { writer: w, chunks } = writer()
    w.writeProtocolHeader()
    w.flush()
    expect([...chunks[0]!]).toEqual([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])
  })

  test('writeHeartbeat writes an empty frame on channel 0', () => {
    const { writer: w, chunks } = writer()
    w.writeHeartbeat()
    w.flush()
    expect([...chunks[0]!]).toEqual([8, 0, 0, 0, 0, 0, 0, 206])
  })

  test('a method frame larger than the batch buffer', () => {
    const { writer: w, chunks } = writer()
    w.writeHeartbeat()
    const serverProperties = { blob: 'x'.repeat(200000) }
    w.writeMethod(0, 'connection.start', { serverProperties })
    w.flush()
    const parsed = frames(chunks)
    expect(parsed.length).toBe(2)
    expect(decodeMethod(parsed[1]![2]).args).toMatchObject({ serverProperties })
  })
})
