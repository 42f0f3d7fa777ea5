/**
 * CRC-32 (IEEE 802.3, the zlib/gzip polynomial) for record checksums. Native `zlib.crc32` where
 * the runtime has it (Bun, Deno, Node >= 20.15), a table-driven fallback elsewhere; both give the
 * same values, so files move freely between runtimes.
 *
 * @module
 */
import * as zlib from 'node:zlib'

let table: Uint32Array | undefined

function makeTable(): Uint32Array {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}

/** The portable implementation (exported for the test that pins it to the native one). */
export function crc32Portable(data: Uint8Array, seed = 0): number {
  table ??= makeTable()
  let c = (seed ^ 0xffffffff) >>> 0
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

/** CRC-32 of `data`, continuing from `seed` (the CRC of the bytes before it). */
export const crc32: (data: Uint8Array, seed?: number) => number =
  typeof native === 'function' ? (data, seed = 0) => native(data, seed) : crc32Portable
