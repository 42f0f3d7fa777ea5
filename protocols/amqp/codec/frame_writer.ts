/**
 * Encodes frames into one large reusable buffer and hands the socket big chunks.
 *
 * This is the per-delivery path. Frames are appended to a ByteWriter; `flush` passes what was
 * written since the last flush to the sink as a subarray and carries on writing after it in
 * the same buffer (bytes handed out are never overwritten; a full buffer is replaced, not
 * reused). Bodies up to LARGE_BODY bytes are copied into the batch, which is the socket write
 * anyway; larger ones go to the sink as their own chunk, in order, without a copy.
 *
 * @module
 */
import type { MessageProperties } from '../../../src/api.ts'
import {
  encodeBasicProperties,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  METHODS,
  PROTOCOL_VERSION,
  type EncodeArgs,
  type MethodName,
  type MethodSpec,
} from '../spec/generated.ts'
import { ByteWriter } from './byte_writer.ts'

/** Bodies above this many bytes are passed to the sink by reference instead of being copied. */
const LARGE_BODY = 16384
const BATCH_SIZE = 65536
const { major, minor, revision } = PROTOCOL_VERSION
const PROTOCOL_HEADER = new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, major, minor, revision])

export class FrameWriter {
  /** Largest frame in bytes, from connection.tune; 0 means no limit. */
  frameMax = 131072
  readonly #sink: (chunk: Uint8Array) => boolean
  readonly #w = new ByteWriter(BATCH_SIZE)
  /** Finished pieces waiting for flush, in order: batch slices and large bodies. */
  #chunks: Uint8Array[] = []
  #chunkBytes = 0

  /** `sink` is socket.write: it keeps a reference to each chunk and returns false when full. */
  constructor(sink: (chunk: Uint8Array) => boolean) {
    this.#sink = sink
  }

  /** Bytes encoded and not yet handed to the sink. */
  get pendingBytes(): number {
    return this.#chunkBytes + this.#w.offset
  }

  /** 'AMQP' 0 0 9 1: sent back when refusing a client's protocol header. */
  writeProtocolHeader(): void {
    this.#w.raw(PROTOCOL_HEADER)
  }

  /** Encodes one method frame (fields with a spec default may be omitted). */
  writeMethod<N extends MethodName>(channel: number, name: N, args: EncodeArgs<N>): void {
    const spec: MethodSpec<N> = METHODS[name]
    const w = this.#w
    w.ensure(11)
    const at = w.offset
    const b = w.bytes
    const p = w.pos
    b[p] = FRAME_METHOD
    b[p + 1] = channel >>> 8
    b[p + 2] = channel
    b[p + 7] = spec.classId >>> 8
    b[p + 8] = spec.classId
    b[p + 9] = spec.methodId >>> 8
    b[p + 10] = spec.methodId
    w.pos = p + 11
    try {
      spec.encode(w, args)
    } catch (error) {
      this.#discardFrom(at)
      throw error
    }
    this.#endFrame(at)
  }

  /** Header frame + body frames split so no frame exceeds frameMax (payload <= frameMax - 8). */
  writeContent(channel: number, classId: number, properties: MessageProperties, body: Uint8Array): void {
    const w = this.#w
    this.#startFrame(FRAME_HEADER, channel)
    const at = w.offset - 7
    w.short(classId)
    w.short(0) // weight
    w.longlong(body.length)
    try {
      encodeBasicProperties(w, properties)
    } catch (error) {
      this.#discardFrom(at)
      throw error
    }
    this.#endFrame(at)

    const size = body.length
    const max = this.frameMax > 8 ? this.frameMax - 8 : size
    // Bounded: each pass writes at least one byte of the body.
    for (let o = 0; o < size; o += max) {
      const n = Math.min(max, size - o)
      const part = n === size ? body : body.subarray(o, o + n)
      this.#startFrame(FRAME_BODY, channel, n)
      if (n <= LARGE_BODY) {
        w.raw(part)
      } else {
        this.#seal()
        this.#chunks.push(part)
        this.#chunkBytes += n
      }
      w.octet(FRAME_END)
    }
  }

  /**
   * A content-carrying method (basic.deliver, get-ok, return) and its content, all or nothing:
   * when the method or the properties cannot be encoded (a message from another protocol with a
   * header name over 255 bytes, a table nested too deeply …) nothing is written and the error is
   * rethrown, so the connection's byte stream stays well formed.
   */
  writeMethodWithContent<N extends MethodName>(channel: number, name: N, args: EncodeArgs<N>, properties: MessageProperties, body: Uint8Array): void {
    const at = this.#w.offset
    try {
      this.writeMethod(channel, name, args)
      this.writeContent(channel, METHODS[name].classId, properties, body)
    } catch (error) {
      this.#discardFrom(at)
      throw error
    }
  }

  /** An empty heartbeat frame on channel 0. */
  writeHeartbeat(): void {
    this.#startFrame(FRAME_HEARTBEAT, 0)
    this.#w.octet(FRAME_END)
  }

  /**
   * Hands the accumulated bytes to the sink (one or a few chunks); returns the sink's last
   * result (true if nothing pending).
   */
  flush(): boolean {
    this.#seal()
    const chunks = this.#chunks
    if (chunks.length === 0) return true
    this.#chunks = []
    this.#chunkBytes = 0
    let ok = true
    for (let i = 0; i < chunks.length; i++) ok = this.#sink(chunks[i]!)
    return ok
  }

  /** Moves the bytes written since the last seal into the chunk list. */
  #seal(): void {
    const w = this.#w
    if (w.pos === w.start) return
    const slice = w.take()
    this.#chunks.push(slice)
    this.#chunkBytes += slice.length
  }

  /** Writes type, channel and size (0 when #endFrame patches it). */
  #startFrame(type: number, channel: number, size = 0): void {
    const w = this.#w
    w.ensure(7)
    const b = w.bytes
    const p = w.pos
    b[p] = type
    b[p + 1] = channel >>> 8
    b[p + 2] = channel
    b[p + 3] = size >>> 24
    b[p + 4] = size >>> 16
    b[p + 5] = size >>> 8
    b[p + 6] = size
    w.pos = p + 7
  }

  /** Drops a half-written frame (bad arguments threw) so the stream stays well-formed. */
  #discardFrom(at: number): void {
    const w = this.#w
    w.pos = w.start + at
  }

  /** Patches the size of the frame that starts at offset `at` and writes the frame end. */
  #endFrame(at: number): void {
    const w = this.#w
    w.longAt(at + 3, w.offset - at - 7)
    w.octet(FRAME_END)
  }
}
