/**
 * A tiny structured logger: one line per event on stderr,
 * `2026-11-25T13:14:15.123Z info  message key=value …`.
 *
 * The level comes from WARREN_LOG_LEVEL (debug, info, warn, error, silent; default info).
 * `logOnce` is for faults a client can repeat at will (bad frames, refused logins): it logs a
 * key at most once a minute, so a misbehaving client cannot flood the log.
 *
 * Adapters may import this module; it depends on nothing but `node:process`.
 *
 * @module
 */
import process from 'node:process'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

const SEVERITY = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
type Threshold = keyof typeof SEVERITY

/** How long `once` stays quiet about a key after logging it. */
const ONCE_WINDOW_MS = 60_000
/** Most keys `once` remembers; the oldest are forgotten first. */
const ONCE_MAX_KEYS = 1000

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** Logs `key` at most once per minute; the next line after a quiet spell says how many were dropped. */
  once(key: string, level: LogLevel, msg: string, fields?: LogFields): void
  /** Whether `level` would be written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean
  level: Threshold
}

export interface LoggerOptions {
  level?: Threshold
  /** Receives each formatted line without its newline. Default: stderr. */
  write?: (line: string) => void
  /** Clock in ms since the epoch. Default: Date.now. */
  now?: () => number
}

function isThreshold(value: unknown): value is Threshold {
  return typeof value === 'string' && Object.hasOwn(SEVERITY, value)
}

/** The level named by WARREN_LOG_LEVEL, or 'info'. */
export function levelFromEnv(): Threshold {
  const value = process.env?.WARREN_LOG_LEVEL?.toLowerCase()
  return isThreshold(value) ? value : 'info'
}

function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`)
}

// Control characters would let a client-supplied string forge extra log lines.
const CONTROL = /[\u0000-\u001f\u007f]/g
const NEEDS_QUOTES = /[\s"=\\\u0000-\u001f\u007f]/

function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => JSON.stringify(c).slice(1, -1))
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value !== '' && !NEEDS_QUOTES.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null || value === undefined) return String(value)
  if (value instanceof Error) return formatValue(value.message)
  if (value instanceof Date) return value.toISOString()
  // Never dump message bodies or other binary data into the log.
  if (value instanceof Uint8Array) return `<${value.length} bytes>`
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
  } catch {
    return formatValue(String(value))
  }
}

/** One log line, without the newline. */
export function formatLine(time: number, level: LogLevel, msg: string, fields?: LogFields): string {
  let line = `${new Date(time).toISOString()} ${level.padEnd(5)} ${escapeControl(msg)}`
  if (fields !== undefined) {
    for (const key in fields) {
      const value = fields[key]
      if (value === undefined) continue
      line += ` ${escapeControl(key).replace(/[\s=]/g, '_')}=${formatValue(value)}`
    }
  }
  return line
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? writeStderr
  const now = options.now ?? Date.now
  /** key → end of its quiet window and how many calls it swallowed; insertion order = age. */
  const quiet = new Map<string, { until: number; dropped: number }>()

  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (SEVERITY[level] < SEVERITY[logger.level]) return
    write(formatLine(now(), level, msg, fields))
  }

  const logger: Logger = {
    level: options.level ?? 'info',
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    enabled: (level) => SEVERITY[level] >= SEVERITY[logger.level],
    once(key, level, msg, fields) {
      if (!logger.enabled(level)) return
      const time = now()
      const entry = quiet.get(key)
      if (entry !== undefined && time < entry.until) {
        entry.dropped++
        return
      }
      quiet.delete(key)
      // Entries are re-inserted on every log, so the oldest sit first: drop expired ones, then
      // the oldest live ones if the map is still too big. Each pass removes one entry.
      for (const [oldKey, old] of quiet) {
        if (old.until > time && quiet.size < ONCE_MAX_KEYS) break
        quiet.delete(oldKey)
      }
      quiet.set(key, { until: time + ONCE_WINDOW_MS, dropped: 0 })
      const dropped = entry?.dropped ?? 0
      emit(level, msg, dropped > 0 ? { ...fields, suppressed: dropped } : fields)
    },
  }
  return logger
}

/** The process-wide logger. */
export const log: Logger = createLogger({ level: levelFromEnv() })

/** `log.once`: logs a repeated client fault once per key per minute. */
export function logOnce(key: string, level: LogLevel, msg: string, fields?: LogFields): void {
  log.once(key, level, msg, fields)
}
