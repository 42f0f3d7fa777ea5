import { describe, expect, test } from 'bun:test'
import { selectProtocol } from './http.ts'
import { WebSocketStream, type RawWebSocket } from './http_socket.ts'

/** A RawWebSocket whose buffer the test sets by hand. */
class FakeWebSocket implements RawWebSocket {
  sent: Uint8Array[] = []
  buffered = 0
  closedWith: [number, string] | undefined
  terminated = false
  paused = false
  send(data: Uint8Array): void {
    this.sent.push(data)
    this.buffered += data.length
  }
  bufferedAmount(): number {
    return this.buffered
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason]
  }
  terminate(): void {
    this.terminated = true
  }
  pause(): void {
    this.paused = true
  }
  resume(): void {
    this.paused = false
  }
}

function open() {
  const raw = new FakeWebSocket()
  const stream = new WebSocketStream(raw, { address: '127.0.0.1', port: 4000 })
  return { raw, stream }
}

describe('WebSocketStream', () => {
  test('each write is one binary message, the same buffer (no copy)', () => {
    const { raw, stream } = open()
    const chunk = new Uint8Array([1, 2, 3])
    expect(stream.write(chunk)).toBe(true)
    expect(raw.sent).toHaveLength(1)
    expect(raw.sent[0]).toBe(chunk)
    expect(stream.remoteAddress).toBe('127.0.0.1')
    expect(stream.remotePort).toBe(4000)
  })

  test('write returns false above 256 KiB buffered and onDrain fires once at or below 64 KiB', () => {
    const { raw, stream } = open()
    let drains = 0
    stream.onDrain(() => drains++)
    expect(stream.write(new Uint8Array(200 * 1024))).toBe(true)
    expect(stream.write(new Uint8Array(100 * 1024))).toBe(false)
    // Still above the low-water mark: no drain yet, and writes keep answering false.
    raw.buffered = 100 * 1024
    stream.handleDrain()
    expect(drains).toBe(0)
    expect(stream.write(new Uint8Array(1))).toBe(false)
    raw.buffered = 64 * 1024
    stream.handleDrain()
    expect(drains).toBe(1)
    stream.handleDrain()
    expect(drains).toBe(1)
    expect(stream.write(new Uint8Array(1))).toBe(true)
  })

  test('binary messages become data chunks, unchanged', () => {
    const { stream } = open()
    const chunks: Uint8Array[] = []
    stream.onData((chunk) => chunks.push(chunk))
    const message = new Uint8Array([0x10, 0x00])
    stream.handleMessage(message)
    expect(chunks).toEqual([message])
    expect(chunks[0]).toBe(message)
  })

  test('a text message closes with 1003 and onClose reports why', () => {
    const { raw, stream } = open()
    const chunks: Uint8Array[] = []
    let closeError: Error | undefined
    stream.onData((chunk) => chunks.push(chunk))
    stream.onClose((error) => (closeError = error))
    stream.handleMessage('CONNECT')
    expect(chunks).toHaveLength(0)
    expect(raw.closedWith).toEqual([1003, 'binary frames only'])
    stream.handleClose()
    expect(closeError?.message).toContain('binary frames only')
  })

  test('end sends a normal close frame; writes after it are refused; onClose fires once', () => {
    const { raw, stream } = open()
    let closes = 0
    stream.onClose(() => closes++)
    stream.end()
    expect(raw.closedWith).toEqual([1000, ''])
    expect(stream.write(new Uint8Array(1))).toBe(false)
    expect(stream.closed).toBe(false)
    stream.handleClose()
    stream.handleClose()
    expect(closes).toBe(1)
    expect(stream.closed).toBe(true)
    stream.destroy()
    expect(raw.terminated).toBe(false)
  })

  test('destroy terminates; pause and resume reach the runtime until closed', () => {
    const { raw, stream } = open()
    stream.pause()
    expect(raw.paused).toBe(true)
    stream.resume()
    expect(raw.paused).toBe(false)
    stream.destroy()
    expect(raw.terminated).toBe(true)
    stream.handleError(new Error('reset'))
    let closeError: Error | undefined
    stream.onClose((error) => (closeError = error))
    stream.handleClose()
    expect(closeError?.message).toBe('reset')
    stream.pause()
    expect(raw.paused).toBe(false)
  })
})

describe('selectProtocol', () => {
  test('picks the endpoint\'s first protocol the client offers', () => {
    expect(selectProtocol('mqttv3.1, mqtt', ['mqtt', 'mqttv3.1'])).toBe('mqtt')
    expect(selectProtocol('mqttv3.1', ['mqtt', 'mqttv3.1'])).toBe('mqttv3.1')
  })
  test('echoes the client\'s first choice when none is supported, nothing when none is offered', () => {
    expect(selectProtocol('chat, other', ['mqtt'])).toBe('chat')
    expect(selectProtocol(undefined, ['mqtt'])).toBeUndefined()
    expect(selectProtocol('', ['mqtt'])).toBeUndefined()
  })
})
