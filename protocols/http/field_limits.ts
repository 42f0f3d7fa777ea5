/**
 * What the broker's other protocols can carry, checked where JSON comes in: AMQP short strings
 * (property values, header names, routing keys, entity names) hold at most 255 bytes of UTF-8,
 * and field tables nest at most 100 deep (the AMQP codec's limit). A message or a queue that
 * broke these would be accepted here and fail later, far from its sender (an AMQP consumer
 * could not be given it; a deeply nested argument could not be listed or stored).
 *
 * @module
 */

export const MAX_SHORTSTR_BYTES = 255
/** The AMQP codec refuses tables nested deeper (protocols/amqp/codec/field_table.ts). */
export const MAX_TABLE_DEPTH = 100

const encoder = new TextEncoder()

/** Whether `s` fits an AMQP short string. ASCII-length strings are decided without encoding. */
export function fitsShortString(s: string): boolean {
  if (s.length > MAX_SHORTSTR_BYTES) return false
  if (s.length * 3 <= MAX_SHORTSTR_BYTES) return true
  return encoder.encode(s).byteLength <= MAX_SHORTSTR_BYTES
}

/**
 * Why a JSON table (arguments, headers) cannot be a field table, or undefined when it can: a
 * key over 255 bytes, or nesting deeper than MAX_TABLE_DEPTH. Stops at the depth limit, so a
 * hostile document costs no more than that.
 */
export function tableProblem(value: unknown, depth = 1): string | undefined {
  if (depth > MAX_TABLE_DEPTH) return `nested deeper than ${MAX_TABLE_DEPTH} levels`
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === 'object' && item !== null) {
        const problem = tableProblem(item, depth + 1)
        if (problem !== undefined) return problem
      }
    }
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  for (const [key, item] of Object.entries(value)) {
    if (!fitsShortString(key)) return `key '${key.slice(0, 40)}…' is longer than ${MAX_SHORTSTR_BYTES} bytes`
    if (typeof item === 'object' && item !== null) {
      const problem = tableProblem(item, depth + 1)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}
