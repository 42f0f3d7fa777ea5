/**
 * The behaviour every `ListenFn` in src/runtime must have. Each implementation's test calls
 * `runSocketContract(name, listen)`; the peer is always a plain `node:net` client.
 *
 * @module
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { connect, type Socket as NetSocket } from 'node:net'
import type { ListenFn, Listener, Socket } from '../../src/runtime/socket.ts'
import { waitFor } from '../helpers/wait.ts'

const CHUNK = 64 * 1024
/** Upper bound on what the backpressure test writes before write() must have said false. */
const MAX_UNTIL_FULL = 64 * 1024 * 1024

/** Byte `i` of the test stream; a slipped, repeated or reordered chunk breaks the pattern. */
const patternByte = (i: number): number => (i * 7 + (i >>> 16)) & 0xff

function patternChunk(offset: number, length: number): Uint8Array {
  const chunk = new Uint8Array(length)
  for (let i = 0; i < length; i++) chunk[i] = patternByte(offset + i)
  return chunk
}

interface Harness {
  listener: Listener
  /** Server-side sockets in accept order. */
  accepted: Socket[]
  /** Resolves with the next accepted server socket. */
  nextAccepted(): Promise<Socket>
  client(): Promise<NetSocket>
}

export function runSocketContract(name: string, listen: ListenFn): void {
  describe(`socket contract: ${name}`, () => {
    const cleanups: (() => unknown)[] = []
    afterEach(async () => {
      for (const fn of cleanups.splice(0).reverse()) await fn()
    })

    async function harness(setup: (socket: Socket) => void = () => {}): Promise<Harness> {
      const accepted: Socket[] = []
      const waiting: ((s: Socket) => void)[] = []
      const listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
        setup(socket)
        accepted.push(socket)
        waiting.shift()?.(socket)
      })
      cleanups.push(() => listener.close())
      cleanups.push(() => accepted.forEach((s) => s.destroy()))
      let taken = 0
      return {
        listener,
        accepted,
        nextAccepted: () => {
          const index = taken++
          if (accepted[index]) return Promise.resolve(accepted[index])
          return new Promise((resolve) => waiting.push(resolve))
        },
        client: () =>
          new Promise((resolve, reject) => {
            const client = connect({ host: '127.0.0.1', port: listener.port }, () => resolve(client))
            client.once('error', reject)
            cleanups.push(() => client.destroy())
          }),
      }
    }

    /** Collects everything a client receives. */
    function collect(client: NetSocket): { bytes: () => number; text: () => string; closed: () => boolean } {
      const chunks: Buffer[] = []
      let length = 0
      let closed = false
      client.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        length += chunk.length
      })
      client.on('close', () => (closed = true))
      return { bytes: () => length, text: () => Buffer.concat(chunks).toString(), closed: () => closed }
    }

    test('listen on port 0 binds a real port', async () => {
      const { listener } = await harness()
      expect(listener.port).toBeGreaterThan(0)
      expect(listener.host).toBe('127.0.0.1')
    })

    test('listen on a port in use rejects', async () => {
      const { listener } = await harness()
      const second = listen({ host: '127.0.0.1', port: listener.port }, () => {})
      await expect(second).rejects.toThrow()
    })

    test('echo: data in, write out; remote address and port are the client', async () => {
      const h = await harness((socket) => socket.onData((chunk) => socket.write(chunk)))
      const client = await h.client()
      const got = collect(client)
      client.write('hello warren')
      await waitFor(() => got.text() === 'hello warren', { message: 'echo' })
      const server = await h.nextAccepted()
      expect(server.remoteAddress).toContain('127.0.0.1')
      expect(server.remotePort).toBe(client.localPort!)
      expect(server.closed).toBe(false)
    })

    test('onData chunks are never reused by the runtime', async () => {
      const kept: Uint8Array[] = []
      const h = await harness((socket) => socket.onData((chunk) => kept.push(chunk)))
      const client = await h.client()
      const copies: string[] = []
      // One chunk at a time, each awaited, so the runtime has every chance to recycle a buffer.
      for (let i = 0; i < 50; i++) {
        const text = `chunk-${i}-`.padEnd(200, String.fromCharCode(97 + (i % 26)))
        const before = kept.length
        client.write(text)
        await waitFor(() => kept.length > before, { message: `chunk ${i}` })
        copies.push(text)
      }
      await waitFor(() => kept.reduce((n, c) => n + c.length, 0) === copies.join('').length)
      expect(Buffer.concat(kept).toString()).toBe(copies.join(''))
    })

    test('large write: write() returns false, onDrain fires, every byte arrives in order', async () => {
      const h = await harness()
      const client = await h.client()
      client.pause()
      const server = await h.nextAccepted()
      let drained = 0
      let onDrain = () => {}
      server.onDrain(() => {
        drained++
        onDrain()
      })

      let written = 0
      let full = false
      while (!full && written < MAX_UNTIL_FULL) {
        full = !server.write(patternChunk(written, CHUNK))
        written += CHUNK
      }
      expect(full).toBe(true)
      // A producer may overshoot the mark; the queue must still drain it whole and in order.
      for (let i = 0; i < 64; i++) {
        expect(server.write(patternChunk(written, CHUNK))).toBe(false)
        written += CHUNK
      }

      // Verify in order without buffering everything.
      let received = 0
      let mismatchAt = -1
      client.on('data', (chunk: Buffer) => {
        for (let i = 0; i < chunk.length && mismatchAt < 0; i++) {
          if (chunk[i] !== patternByte(received + i)) mismatchAt = received + i
        }
        received += chunk.length
      })
      const drainedOnce = new Promise<void>((resolve) => (onDrain = resolve))
      client.resume()
      await drainedOnce
      expect(drained).toBe(1)

      // After drain the socket takes more, and the tail still arrives after the head.
      for (let i = 0; i < 8; i++) {
        server.write(patternChunk(written, CHUNK))
        written += CHUNK
      }
      await waitFor(() => received >= written, { timeout: 10_000, message: `${written} bytes` })
      expect(mismatchAt).toBe(-1)
      expect(received).toBe(written)
    })

    test('pause stops onData and resume restarts it', async () => {
      let received = ''
      const h = await harness((socket) => {
        socket.onData((chunk) => {
          received += Buffer.from(chunk).toString()
          // A second connection answers "ping" so the test has an event to wait on.
          if (received.endsWith('ping')) socket.write(new TextEncoder().encode('pong'))
        })
      })
      const client = await h.client()
      const server = await h.nextAccepted()
      client.write('one')
      await waitFor(() => received === 'one')

      server.pause()
      server.pause() // idempotent
      await new Promise<void>((resolve) => client.write('two', () => resolve()))
      // Barrier: a round trip on another connection of the same listener. Had 'two' been
      // read, its data callback would have run before this echo came back.
      received = ''
      const barrier = await h.client()
      const pong = collect(barrier)
      barrier.write('ping')
      await waitFor(() => pong.text() === 'pong', { message: 'barrier pong' })
      expect(received).toBe('ping')

      received = ''
      server.resume()
      await waitFor(() => received === 'two', { message: 'data after resume' })
    })

    test('peer closes: onClose fires without error and closed becomes true', async () => {
      let closeError: Error | undefined | null = null
      const h = await harness((socket) => socket.onClose((error) => (closeError = error)))
      const client = await h.client()
      const server = await h.nextAccepted()
      client.end()
      await waitFor(() => server.closed, { message: 'server socket closed' })
      expect(closeError).toBeUndefined()
      expect(server.write(new Uint8Array([1]))).toBe(false) // no-op after close, no throw
    })

    test('end() flushes what is queued, then closes both sides', async () => {
      let serverClosed = 0
      const h = await harness((socket) => socket.onClose(() => serverClosed++))
      const client = await h.client()
      client.pause()
      const got = collect(client)
      const server = await h.nextAccepted()
      const total = 4 * 1024 * 1024
      for (let offset = 0; offset < total; offset += CHUNK) server.write(patternChunk(offset, CHUNK))
      server.end()
      server.end() // idempotent
      client.resume()
      await waitFor(() => got.closed(), { timeout: 10_000, message: 'client saw close' })
      expect(got.bytes()).toBe(total)
      await waitFor(() => serverClosed === 1, { message: 'server onClose' })
      expect(server.closed).toBe(true)
    })

    test('end() is a half-close: data the peer sends afterwards is read, not reset', async () => {
      // An AMQP client may still be writing when it reads our close-ok; RabbitMQ keeps reading
      // until the client closes, so those late bytes must not provoke a reset (EPIPE).
      let late = 0
      let serverClosed = 0
      const accepted: Socket[] = []
      const listener = await listen({ host: '127.0.0.1', port: 0 }, (socket) => {
        accepted.push(socket)
        socket.onData((chunk) => (late += chunk.length))
        socket.onClose(() => serverClosed++)
        socket.end()
      })
      cleanups.push(() => listener.close())
      cleanups.push(() => accepted.forEach((s) => s.destroy()))
      const client = connect({ host: '127.0.0.1', port: listener.port, allowHalfOpen: true })
      cleanups.push(() => client.destroy())
      let clientError: Error | undefined
      let clientClosed = false
      client.on('error', (error) => (clientError = error))
      client.on('close', () => (clientClosed = true))
      client.resume()
      await new Promise<void>((resolve) => client.once('end', () => resolve()))
      const total = 1024 * 1024
      for (let offset = 0; offset < total; offset += CHUNK) client.write(patternChunk(offset, CHUNK))
      client.end()
      await waitFor(() => clientClosed && serverClosed === 1, { timeout: 10_000, message: 'both sides closed' })
      expect(clientError).toBeUndefined()
      expect(late).toBe(total)
    })

    test('destroy() closes now and fires onClose once', async () => {
      let serverClosed = 0
      const h = await harness((socket) => socket.onClose(() => serverClosed++))
      const client = await h.client()
      const got = collect(client)
      const server = await h.nextAccepted()
      server.destroy()
      await waitFor(() => got.closed(), { message: 'client saw close' })
      await waitFor(() => serverClosed === 1, { message: 'server onClose' })
      server.destroy()
      expect(serverClosed).toBe(1)
    })

    test('listener.close() stops accepting but keeps open sockets', async () => {
      const h = await harness((socket) => socket.onData((chunk) => socket.write(chunk)))
      const client = await h.client()
      const got = collect(client)
      await h.nextAccepted()
      await h.listener.close()
      const refused = await new Promise<boolean>((resolve) => {
        const late = connect({ host: '127.0.0.1', port: h.listener.port })
        late.once('connect', () => {
          late.destroy()
          resolve(false)
        })
        late.once('error', () => resolve(true))
      })
      expect(refused).toBe(true)
      client.write('still here')
      await waitFor(() => got.text() === 'still here', { message: 'echo after listener close' })
    })
  })
}
