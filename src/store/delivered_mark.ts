/**
 * A queue's "delivered" mark: every persistent message with a sequence number up to it may have
 * reached a consumer, so after a crash it comes back with redelivered set (RabbitMQ's rule:
 * when in doubt, say redelivered). The store raises the mark ahead of its deliveries in steps,
 * so it is written once per step, never per message, and always before the delivery it covers
 * leaves the broker.
 *
 * File `delivered` in the queue directory: one frame (frame.ts) whose payload is an f64,
 * overwritten in place.
 *
 * @module
 */
import { join } from 'node:path'
import { log } from '../log.ts'
import { closeFile, openReadWrite, readWhole, removeFile, writeAt } from '../runtime/fs.ts'
import { frame, scanFrames } from './frame.ts'

const FILE = 'delivered'

/** The mark in `dir`: 0 without a file, Infinity (assume everything delivered) when it is unreadable. */
export function readDeliveredMark(dir: string): number {
  const path = join(dir, FILE)
  const buf = readWhole(path)
  if (buf === undefined) return 0
  let mark = -1
  scanFrames(buf, 0, (payload) => {
    if (payload.byteLength === 8) mark = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0, true)
  })
  if (mark >= 0) return mark
  log.warn('Unreadable delivered mark: every recovered message of the queue is marked redelivered', { file: path })
  return Number.POSITIVE_INFINITY
}

/** Overwrites the mark (synchronously: it must be in the kernel before the delivery is sent). */
export function writeDeliveredMark(dir: string, mark: number): void {
  const payload = new Uint8Array(8)
  new DataView(payload.buffer).setFloat64(0, mark, true)
  const fd = openReadWrite(join(dir, FILE))
  try {
    writeAt(fd, frame(payload), 0)
  } finally {
    closeFile(fd)
  }
}

export function removeDeliveredMark(dir: string): void {
  removeFile(join(dir, FILE))
}
