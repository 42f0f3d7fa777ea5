import { describe, expect, test } from 'bun:test'
import { tick } from '../../../src/core/testing.ts'
import { HeartbeatTicker, SseStream } from './sse_stream.ts'

function open(maxBatchEvents = 100) {
  const writability: boolean[] = []
  const stream = new SseStream({ onWritable: (w) => writability.push(w), maxBatchEvents })
  const reader = stream.body.getReader()
  const decoder = new TextDecoder()
  const read = async () => decoder.decode((await reader.read()).value)
  return { stream, writability, reader, read }
}

/** One event-loop turn: the stream's write promises settle. */
const settle = tick

describe('SseStream', () => {
  test('a burst of events goes out as one chunk at flush', async () => {
    const { stream, read } = open()
    stream.push('data: 1\n\n')
    stream.push('data: 2\n\n')
    stream.flush()
    expect(await read()).toBe('data: 1\n\ndata: 2\n\n')
  })

  test('a second batch waiting behind an untaken one makes the session unwritable until the client reads', async () => {
    const { stream, writability, read } = open()
    for (let i = 0; i < 4; i++) {
      stream.push(`data: ${i}\n\n`)
      stream.flush()
    }
    await settle()
    expect(writability).toEqual([false])
    let got = ''
    while (!got.includes('data: 3')) got += await read()
    await settle()
    expect(writability).toEqual([false, true])
  })

  test('pushEvent writes the id line before shared data bytes', async () => {
    const { stream, read } = open()
    const data = new TextEncoder().encode('data: {"a":"é"}\n\n')
    stream.pushEvent('', 0, data)
    stream.pushEvent('', 1234567890, data)
    stream.pushEvent('s-é:', 7, data)
    stream.push('id: 9\n', data)
    stream.flush()
    expect(await read()).toBe(
      'id: 0\ndata: {"a":"é"}\n\nid: 1234567890\ndata: {"a":"é"}\n\nid: s-é:7\ndata: {"a":"é"}\n\nid: 9\ndata: {"a":"é"}\n\n',
    )
  })

  test('batches larger than the first buffer stay intact', async () => {
    const { stream, read } = open(10_000)
    const data = new TextEncoder().encode(`data: ${'x'.repeat(300)}\n\n`)
    let expected = ''
    for (let i = 1; i <= 500; i++) {
      stream.pushEvent('', i, data)
      expected += `id: ${i}\ndata: ${'x'.repeat(300)}\n\n`
    }
    stream.flush()
    let got = ''
    while (got.length < expected.length) got += await read()
    expect(got).toBe(expected)
  })

  test('a burst stops at maxBatchEvents', () => {
    const { stream, writability } = open(2)
    stream.push('data: a\n\n')
    expect(writability).toEqual([])
    stream.push('data: b\n\n')
    expect(writability).toEqual([false])
  })

  test('heartbeat writes a comment; end() flushes and settles done', async () => {
    const { stream, read } = open()
    stream.heartbeat()
    expect(await read()).toBe(': ping\n\n')
    stream.push('data: last\n\n')
    stream.end()
    await stream.done
    expect(stream.ended).toBe(true)
    expect(await read()).toBe('data: last\n\n')
  })

  test('the client going away settles done', async () => {
    const { stream, reader } = open()
    await reader.cancel()
    await stream.done
    expect(stream.ended).toBe(true)
  })

  test('HeartbeatTicker pings every registered stream and stops with the last one', async () => {
    const ticker = new HeartbeatTicker(5)
    const a = open()
    ticker.add(a.stream)
    expect(await a.read()).toBe(': ping\n\n')
    ticker.delete(a.stream)
  })
})
