// A chunked request body (no Content-Length: a streamed upload) keeps its peer address, so
// guest, allowed from loopback only, is still let in (the body limit replaces the request
// object, which Bun's requestIP() then no longer knows).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startBroker, type TestBroker } from '../helpers/broker.ts'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})

afterAll(async () => {
  await broker?.stop()
})

/** One raw HTTP/1.1 request with a chunked body; resolves with the status line and body. */
function chunkedPost(path: string, chunks: string[]): Promise<string> {
  const port = Number(new URL(broker.httpUrl).port)
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      let request = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${btoa('guest:guest')}\r\n`
      request += 'Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
      for (const chunk of chunks) request += `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`
      socket.end(`${request}0\r\n\r\n`)
    })
    let answer = ''
    socket.on('data', (data: Buffer) => (answer += data.toString()))
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

describe('chunked request bodies', () => {
  test('guest from loopback publishes with a chunked body', async () => {
    const answer = await chunkedPost('/api/topics/%2F/chunked/topic', ['hel', 'lo'])
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
    expect(answer).toContain('"routed":false')
  })
})
