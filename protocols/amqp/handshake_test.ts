import { describe, expect, test } from 'bun:test'
import { clientCapabilities, isAmqp091Header, negotiateTune } from './handshake.ts'

const server = { frameMax: 131072, channelMax: 2047 }

describe('negotiateTune', () => {
  test('the client may lower the limits; 0 takes the server values', () => {
    expect(negotiateTune(server, { frameMax: 4096, channelMax: 10, heartbeat: 0 })).toEqual({ frameMax: 4096, channelMax: 10 })
    expect(negotiateTune(server, { frameMax: 0, channelMax: 0, heartbeat: 0 })).toEqual(server)
  })

  test('raising a limit is 530 with rabbit_reader text', () => {
    expect(() => negotiateTune(server, { frameMax: 0, channelMax: 3000, heartbeat: 0 })).toThrow(
      'negotiated channel_max = 3000 is higher than the maximum allowed value (2047)',
    )
    expect(() => negotiateTune(server, { frameMax: 200000, channelMax: 0, heartbeat: 0 })).toThrow(
      'negotiated frame_max = 200000 is higher than the maximum allowed value (131072)',
    )
  })

  test('no server channel limit means the whole 16-bit id space', () => {
    expect(negotiateTune({ frameMax: 0, channelMax: 0 }, { frameMax: 0, channelMax: 0, heartbeat: 0 }).channelMax).toBe(65535)
  })
})

describe('handshake helpers', () => {
  test('the 0-9-1 and 0-9 headers are accepted, others not', () => {
    expect(isAmqp091Header(new Uint8Array([65, 77, 81, 80, 0, 0, 9, 1]))).toBe(true)
    expect(isAmqp091Header(new Uint8Array([65, 77, 81, 80, 1, 1, 0, 9]))).toBe(true)
    expect(isAmqp091Header(new Uint8Array([65, 77, 81, 80, 0, 1, 0, 0]))).toBe(false)
  })

  test('capabilities are read from client-properties and default to false', () => {
    expect(clientCapabilities({ capabilities: { 'connection.blocked': true } })).toEqual({
      consumerCancelNotify: false,
      connectionBlocked: true,
      authenticationFailureClose: false,
    })
    expect(clientCapabilities({ capabilities: 'junk' }).connectionBlocked).toBe(false)
  })
})
