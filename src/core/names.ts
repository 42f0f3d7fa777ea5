/**
 * Server-generated names: queue names ("amq.gen-…"), consumer tags ("amq.ctag-…") and direct
 * reply-to tokens. Like RabbitMQ's rabbit_guid:binary/2: 16 random bytes, base64url, no padding.
 *
 * @module
 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** 22 url-safe characters carrying 128 random bits. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let out = ''
  let i = 0
  for (; i + 3 <= 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  // 15 bytes gave 20 characters; the 16th byte gives the last two.
  const last = bytes[15]!
  return out + alphabet[last >> 2]! + alphabet[(last & 3) << 4]!
}

/** "amq.gen-…" for a server-named queue, "amq.ctag-…" for a generated consumer tag. */
export function generatedName(prefix: 'amq.gen' | 'amq.ctag'): string {
  return `${prefix}-${randomToken()}`
}
