import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DurableKeyValueStore } from './durable_key_value.ts'
import { GroupCommit } from './group_commit.ts'

const root = mkdtempSync(join(tmpdir(), 'warren-kv-'))
let n = 0
afterAll(() => rmSync(root, { recursive: true, force: true }))

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

describe('DurableKeyValueStore', () => {
  test('set resolves once synced; values, deletes and prefixes survive a reopen', async () => {
    const file = join(root, `kv${n++}.log`)
    const commit = new GroupCommit()
    const kv = new DurableKeyValueStore(file, commit)
    let synced = false
    const done = kv.set('a/1', bytes('one')).then(() => (synced = true))
    expect(text(kv.get('a/1'))).toBe('one')
    expect(synced).toBe(false)
    await done
    await Promise.all([kv.set('a/2', bytes('two')), kv.set('b/1', bytes('three')), kv.set('a/1', null), kv.set('é', bytes('ü'))])
    kv.close()

    const back = new DurableKeyValueStore(file, new GroupCommit())
    expect(text(back.get('a/1'))).toBeUndefined()
    expect(text(back.get('é'))).toBe('ü')
    expect([...back.entries('a/')].map(([k, v]) => [k, text(v)])).toEqual([['a/2', 'two']])
    expect([...back.entries()].length).toBe(3)
    back.close()
  })

  test('rewriting one key many times keeps the file small (compaction)', async () => {
    const file = join(root, `kv${n++}.log`)
    const kv = new DurableKeyValueStore(file, new GroupCommit())
    const value = new Uint8Array(1024)
    for (let i = 0; i < 800; i++) await kv.set('same', value)
    expect(statSync(file).size).toBeLessThan(300 * 1024)
    kv.close()
    expect(new DurableKeyValueStore(file, new GroupCommit()).get('same')!.byteLength).toBe(1024)
  })
})

describe('GroupCommit', () => {
  test('one write and one sync round cover every change buffered in a turn', async () => {
    const calls: string[] = []
    const commit = new GroupCommit()
    const member = {
      writeOut: () => {
        calls.push('write')
        commit.requestSync(member)
      },
      beginSync: (fds: number[]) => {
        calls.push('begin')
        void fds
      },
      endSync: () => calls.push('end'),
    }
    for (let i = 0; i < 100; i++) commit.requestWrite(member)
    await commit.drain()
    expect(calls).toEqual(['write', 'begin', 'end'])
  })
})
