/**
 * Joins basic.publish with its content header and body frames, with RabbitMQ's
 * `rabbit_command_assembler` rules and reply texts. A body that arrives in one frame is passed
 * on as the frame payload itself (no copy); a multi-frame body is copied once into one buffer of
 * the announced size.
 *
 * Called on the read path; must not await.
 *
 * @module
 */
import type { MessageProperties } from '../../src/api.ts'
import { AmqpError } from './codec/errors.ts'
import type { MethodArgs } from './codec/methods.ts'
import { decodeContentHeader } from './codec/properties.ts'
import { ReplyCode } from './spec/generated.ts'

type BasicPublish = MethodArgs['basic.publish']

/** basic.publish's ids, named in the errors about its content. */
const PUBLISH = { classId: 60, methodId: 40 }
const BASIC_CLASS = 60

const IDLE = 0
const WANT_HEADER = 1
const WANT_BODY = 2

/** Receives each completed publish; the channel implements it. */
export interface ContentSink {
  contentComplete(method: BasicPublish, properties: MessageProperties, body: Uint8Array): void
}

const EMPTY = new Uint8Array(0)

export class ContentAssembler {
  #sink: ContentSink
  #state = IDLE
  #method: BasicPublish | undefined
  #properties: MessageProperties = {}
  #bodySize = 0
  #received = 0
  /** Multi-frame bodies only: allocated once at the announced size. */
  #buffer: Uint8Array | undefined

  constructor(sink: ContentSink) {
    this.#sink = sink
  }

  /** True between basic.publish and its last body frame: a method frame now is an error. */
  get busy(): boolean {
    return this.#state !== IDLE
  }

  /** basic.publish arrived; its content follows. */
  start(method: BasicPublish): void {
    this.#method = method
    this.#state = WANT_HEADER
  }

  /** A method frame arrived while content was expected (505, connection). */
  unexpectedMethod(): AmqpError {
    return this.#unexpected()
  }

  /** Drops a half-assembled message (the channel is closing). */
  reset(): void {
    this.#state = IDLE
    this.#method = undefined
    this.#buffer = undefined
  }

  header(payload: Uint8Array, maxMessageSize: number): void {
    if (this.#state !== WANT_HEADER) throw this.#unexpected()
    const header = decodeContentHeader(payload)
    // A non-zero weight does not match rabbit_command_assembler's header pattern at all.
    if (header.weight !== 0) throw this.#unexpected()
    if (header.classId !== BASIC_CLASS) {
      throw new AmqpError(
        ReplyCode.UNEXPECTED_FRAME,
        `expected content header for class ${BASIC_CLASS}, got one for class ${header.classId} instead`,
        PUBLISH,
      )
    }
    if (header.bodySize > maxMessageSize) {
      // Checked before buffering anything; RabbitMQ checks after assembly with the same text.
      this.reset()
      throw new AmqpError(
        ReplyCode.PRECONDITION_FAILED,
        `message size ${header.bodySize} is larger than configured max size ${maxMessageSize}`,
        { ...PUBLISH, scope: 'channel' },
      )
    }
    this.#properties = header.properties
    this.#bodySize = header.bodySize
    this.#received = 0
    if (header.bodySize === 0) this.#complete(EMPTY)
    else this.#state = WANT_BODY
  }

  body(payload: Uint8Array): void {
    if (this.#state !== WANT_BODY) throw this.#unexpected()
    const remaining = this.#bodySize - this.#received
    if (payload.length > remaining) {
      throw new AmqpError(ReplyCode.FRAME_ERROR, 'content body frame exceeds remaining content size', PUBLISH)
    }
    if (this.#received === 0 && payload.length === this.#bodySize) {
      this.#complete(payload)
      return
    }
    this.#buffer ??= new Uint8Array(this.#bodySize)
    this.#buffer.set(payload, this.#received)
    this.#received += payload.length
    if (this.#received === this.#bodySize) {
      const body = this.#buffer
      this.#buffer = undefined
      this.#complete(body)
    }
  }

  #complete(body: Uint8Array): void {
    const method = this.#method!
    const properties = this.#properties
    this.#state = IDLE
    this.#method = undefined
    this.#properties = {}
    this.#sink.contentComplete(method, properties, body)
  }

  #unexpected(): AmqpError {
    if (this.#state === WANT_HEADER) {
      return new AmqpError(
        ReplyCode.UNEXPECTED_FRAME,
        `expected content header for class ${BASIC_CLASS}, got non content header frame instead`,
        PUBLISH,
      )
    }
    if (this.#state === WANT_BODY) {
      return new AmqpError(ReplyCode.UNEXPECTED_FRAME, 'expected content body, got non content body frame instead', PUBLISH)
    }
    return new AmqpError(ReplyCode.UNEXPECTED_FRAME, 'expected method frame, got non method frame instead')
  }
}
