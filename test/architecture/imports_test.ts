import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'

// The layering rule from the developers' guide: adapters depend on the core, the core never
// imports an adapter, adapters never import each other. Only the wiring (src/main.ts,
// src/server.ts) may see both sides.
const root = resolve(import.meta.dir, '../..')
const wiring = new Set(['src/main.ts', 'src/server.ts'])

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
  return specifiers
    .map((m) => m[1] ?? m[2])
    .filter((s): s is string => s !== undefined && s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(file), s)))
}

describe('module boundaries', () => {
  test('src/ never imports protocols/ (except the wiring in main.ts and server.ts)', () => {
    const offenders: string[] = []
    for (const file of sourceFiles(join(root, 'src'))) {
      const rel = relative(root, file)
      if (wiring.has(rel)) continue
      for (const target of relativeImports(file)) {
        if (target.startsWith('protocols/')) offenders.push(`${rel} -> ${target}`)
      }
    }
    expect(offenders).toEqual([])
  })

  test('adapters import only src/api.ts, src/runtime/, src/log.ts, src/core/topic_trie.ts, src/core/topic_mapping.ts and their own folder', () => {
    const offenders: string[] = []
    for (const adapter of readdirSync(join(root, 'protocols'))) {
      for (const file of sourceFiles(join(root, 'protocols', adapter))) {
        const rel = relative(root, file)
        if (rel.endsWith('_test.ts')) continue // tests may wire a broker up
        for (const target of relativeImports(file)) {
          const allowed =
            target === 'src/api.ts' ||
            target === 'src/log.ts' ||
            target === 'src/core/topic_trie.ts' ||
            target === 'src/core/topic_mapping.ts' ||
            target.startsWith('src/runtime/') ||
            target.startsWith(`protocols/${adapter}/`)
          if (!allowed) offenders.push(`${rel} -> ${target}`)
        }
      }
    }
    expect(offenders).toEqual([])
  })
})
