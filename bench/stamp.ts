/**
 * Send timestamps carried in message bodies, for latency measured across processes: the
 * wall-clock-anchored high-resolution time (`performance.timeOrigin + performance.now()`), which
 * every process on the machine reads from the same clock, in microseconds, written as ASCII
 * digits so it survives any text encoding (an SSE event's JSON payload, an MQTT body).
 *
 * Layout: one marker byte (`T` for a recorded sample, `W` for a warm-up message) and
 * STAMP_DIGITS digits of the time modulo 10^15 µs (about 31 years; differences are taken modulo
 * the same, so the wrap does not matter).
 *
 * @module
 */

export const STAMP_DIGITS = 15
/** Marker + digits. */
export const STAMP_BYTES = 1 + STAMP_DIGITS
export const RECORDED = 0x54 // 'T'
export const WARMUP = 0x57 // 'W'
const MOD = 10 ** STAMP_DIGITS

/** Now, in µs modulo 10^15. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) % MOD
}

/** Writes marker + the zero-padded time at `buf[off]`. */
export function writeStamp(buf: Uint8Array, off: number, marker: number, micros: number): void {
  buf[off] = marker
  let v = micros
  for (let k = STAMP_DIGITS; k >= 1; k--) {
    buf[off + k] = 0x30 + (v % 10)
    v = Math.floor(v / 10)
  }
}

/** Milliseconds from `sentMicros` to `nowMicros`. */
export function elapsedMs(sentMicros: number, now: number): number {
  return (((now - sentMicros) % MOD) + MOD) % MOD / 1000
}
