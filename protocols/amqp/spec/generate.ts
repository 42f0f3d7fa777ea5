/**
 * Writes protocols/amqp/spec/generated.ts from ../shared/spec/amqp-rabbitmq-0.9.1.json (the
 * checkout's parent holds `shared/`); a checkout without `shared/` beside it uses the copy
 * vendored here. `--check` regenerates in memory and exits 1 when the file on disk differs (CI
 * runs it as `npm run gen:check`).
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { render, type Spec } from './render.ts'

const SHARED_SPEC = fileURLToPath(new URL('../../../../shared/spec/amqp-rabbitmq-0.9.1.json', import.meta.url))
const VENDORED_SPEC = fileURLToPath(new URL('./amqp-rabbitmq-0.9.1.json', import.meta.url))

export const SPEC_PATH = existsSync(SHARED_SPEC) ? SHARED_SPEC : VENDORED_SPEC
export const GENERATED_PATH = fileURLToPath(new URL('./generated.ts', import.meta.url))

/** The generated source for the spec on disk. */
export function generate(): string {
  return render(JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec)
}

/** Returns null when generated.ts is up to date, else a message saying what to run. */
export function check(): string | null {
  let current = ''
  try {
    current = readFileSync(GENERATED_PATH, 'utf8')
  } catch {
    return `${GENERATED_PATH} is missing: run npm run gen`
  }
  return current === generate() ? null : `${GENERATED_PATH} is out of date with ${SPEC_PATH}: run npm run gen`
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const problem = check()
    if (problem !== null) {
      console.error(problem)
      process.exit(1)
    }
    console.log('generated.ts is up to date')
  } else {
    writeFileSync(GENERATED_PATH, generate())
    console.log(`wrote ${GENERATED_PATH}`)
  }
}
