import { describe, expect, test } from 'bun:test'
import { createLogger, formatLine, levelFromEnv, type LoggerOptions } from './log.ts'

function capture(options: LoggerOptions = {}) {
  const lines: string[] = []
  let clock = Date.parse('2026-11-25T13:14:15.123Z')
  const logger = createLogger({ write: (line) => lines.push(line), now: () => clock, ...options })
  return { logger, lines, advance: (ms: number) => (clock += ms) }
}

describe('log', () => {
  test('formatLine() writes time, padded level, message and key=value fields', () => {
    const time = Date.parse('2026-11-25T13:14:15.123Z')
    expect(formatLine(time, 'info', 'connection opened', { user: 'guest', port: 5672, tls: false })).toBe(
      '2026-11-25T13:14:15.123Z info  connection opened user=guest port=5672 tls=false',
    )
    expect(formatLine(time, 'error', 'x')).toBe('2026-11-25T13:14:15.123Z error x')
  })

  test('formatLine() quotes values that would break key=value parsing', () => {
    const line = formatLine(0, 'warn', 'm', { a: 'two words', b: 'k=v', c: '', d: 'quote"d' })
    expect(line).toEndWith(' m a="two words" b="k=v" c="" d="quote\\"d"')
  })

  test('formatLine() keeps an event on one line whatever the input', () => {
    const line = formatLine(0, 'warn', 'bad\nframe\r', { stack: 'Error: x\n    at y', name: 'a\u0000b' })
    expect(line).not.toMatch(/[\n\r\u0000]/)
    expect(line).toContain('bad\\nframe\\r')
    expect(line).toContain('stack="Error: x\\n    at y"')
  })

  test('formatLine() renders non-string fields compactly and never dumps bytes', () => {
    const line = formatLine(0, 'info', 'm', {
      body: new Uint8Array(1000),
      err: new Error('boom here'),
      obj: { n: 1n, s: 'x' },
      nothing: null,
      skipped: undefined,
    })
    expect(line).toEndWith(' m body=<1000 bytes> err="boom here" obj={"n":"1","s":"x"} nothing=null')
  })

  test('the level filters lower-severity events', () => {
    const { logger, lines } = capture({ level: 'warn' })
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(lines.map((l) => l.split(' ').slice(1).join(' '))).toEqual(['warn  w', 'error e'])
    expect(logger.enabled('info')).toBe(false)
    logger.level = 'debug'
    logger.debug('now')
    expect(lines.length).toBe(3)
    logger.level = 'silent'
    logger.error('hidden')
    expect(lines.length).toBe(3)
  })

  test('once() logs a key once per minute and then reports what it dropped', () => {
    const { logger, lines, advance } = capture()
    logger.once('client-a', 'warn', 'bad frame', { peer: 'a' })
    logger.once('client-a', 'warn', 'bad frame', { peer: 'a' })
    logger.once('client-a', 'warn', 'bad frame', { peer: 'a' })
    logger.once('client-b', 'warn', 'bad frame', { peer: 'b' })
    expect(lines.length).toBe(2)
    advance(59_999)
    logger.once('client-a', 'warn', 'bad frame')
    expect(lines.length).toBe(2)
    advance(1)
    logger.once('client-a', 'warn', 'bad frame', { peer: 'a' })
    expect(lines.length).toBe(3)
    expect(lines[2]).toEndWith('bad frame peer=a suppressed=3')
    advance(60_000)
    logger.once('client-a', 'warn', 'bad frame')
    expect(lines[3]).toEndWith('bad frame')
  })

  test('once() remembers a bounded number of keys', () => {
    const { logger, lines } = capture()
    for (let i = 0; i < 5000; i++) logger.once(`k${i}`, 'warn', 'x')
    expect(lines.length).toBe(5000)
    // The oldest keys were forgotten, so they log again; the newest are still quiet.
    logger.once('k0', 'warn', 'x')
    logger.once('k4999', 'warn', 'x')
    expect(lines.length).toBe(5001)
  })

  test('once() below the level records nothing', () => {
    const { logger, lines } = capture({ level: 'error' })
    logger.once('k', 'warn', 'x')
    logger.level = 'info'
    logger.once('k', 'warn', 'x')
    expect(lines.length).toBe(1)
  })

  test('levelFromEnv() reads WARREN_LOG_LEVEL and falls back to info', () => {
    const saved = process.env.WARREN_LOG_LEVEL
    try {
      process.env.WARREN_LOG_LEVEL = 'WARN'
      expect(levelFromEnv()).toBe('warn')
      process.env.WARREN_LOG_LEVEL = 'loud'
      expect(levelFromEnv()).toBe('info')
      delete process.env.WARREN_LOG_LEVEL
      expect(levelFromEnv()).toBe('info')
    } finally {
      if (saved === undefined) delete process.env.WARREN_LOG_LEVEL
      else process.env.WARREN_LOG_LEVEL = saved
    }
  })
})
