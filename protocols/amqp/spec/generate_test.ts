import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { check, generate, SPEC_PATH } from './generate.ts'
import { render, type Spec } from './render.ts'

describe('generated.ts', () => {
  test('is up to date with shared/spec (the gen:check logic)', () => {
    expect(check()).toBeNull()
  })

  test('the copy vendored beside the generator matches shared/spec', () => {
    const vendored = new URL('./amqp-rabbitmq-0.9.1.json', import.meta.url)
    if (!existsSync(vendored)) return
    expect(readFileSync(vendored, 'utf8')).toBe(readFileSync(SPEC_PATH, 'utf8'))
  })

  test('rendering is deterministic', () => {
    expect(generate()).toBe(generate())
  })

  test('a changed spec is reported as out of date', () => {
    const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec
    spec.constants.find((c) => c.name === 'FRAME-MIN-SIZE')!.value = 8192
    const text = render(spec)
    expect(text).toContain('export const FRAME_MIN_SIZE = 8192')
    expect(text).not.toBe(generate())
  })

  test('an unresolvable domain fails loudly', () => {
    const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec
    spec.classes[0]!.methods[0]!.arguments[0] = { name: 'x', domain: 'no-such-domain' }
    expect(() => render(spec)).toThrow('Cannot resolve the type of field "x"')
  })
})
