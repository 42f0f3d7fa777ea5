import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { log } from '../log.ts'
import { DefinitionsLog } from './definitions_log.ts'
import { GroupCommit } from './group_commit.ts'

const root = mkdtempSync(join(tmpdir(), 'warren-defs-'))
let n = 0
afterAll(() => rmSync(root, { recursive: true, force: true }))

const meta = { description: '', tags: [], defaultQueueType: 'classic' }
const exchange = (name: string, durable = true) => ({ name, type: 'topic', durable, autoDelete: false, internal: false, args: { 'alternate-exchange': 'ae' } })
const queue = (name: string, durable = true) => ({ name, durable, autoDelete: false, args: { 'x-max-length': 5, bin: new Uint8Array([7]) } })
const binding = (source: string, destination: string, routingKey: string, args?: Record<string, number>) => ({
  source: { name: source, durable: true },
  destination: { name: destination, durable: true, kind: 'queue' as const },
  routingKey,
  args,
})

function path(): string {
  const dir = join(root, `d${n++}`)
  return join(dir, 'definitions.log')
}

function open(file: string): DefinitionsLog {
  const dir = join(file, '..')
  mkdirSync(dir, { recursive: true })
  return new DefinitionsLog(file, new GroupCommit())
}

describe('DefinitionsLog', () => {
  test('a new directory is fresh; changes replay into the same model after a reopen', () => {
    const file = path()
    const defs = open(file)
    expect(defs.fresh).toBe(true)
    defs.vhostChanged('/', meta)
    defs.userChanged('alice', { name: 'alice', passwordHash: 'h', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['a'] })
    defs.permissionChanged('/', 'alice', { configure: '.*', write: '', read: '^r' })
    defs.exchangeAdded('/', exchange('x'))
    defs.exchangeAdded('/', exchange('transient', false))
    defs.exchangeAdded('/', exchange('amq.topic'))
    defs.queueAdded('/', queue('q'))
    defs.queueAdded('/', queue('tq', false))
    defs.bindingChanged('/', true, binding('x', 'q', 'k', { b: 2, a: 1 }))
    defs.bindingChanged('/', true, binding('x', 'q', 'gone'))
    defs.bindingChanged('/', false, binding('x', 'q', 'gone'))
    // Unbinding with the arguments in another order removes the same binding.
    defs.bindingChanged('/', true, binding('x', 'q', 'k2', { a: 1, b: 2 }))
    defs.bindingChanged('/', false, binding('x', 'q', 'k2', { b: 2, a: 1 }))
    defs.close()

    const back = open(file)
    expect(back.fresh).toBe(false)
    expect(back.model).toEqual(defs.model)
    const v = back.model.vhosts.get('/')!
    expect([...v.exchanges.keys()]).toEqual(['x'])
    expect([...v.queues.keys()]).toEqual(['q'])
    expect(v.queues.get('q')!.args).toEqual({ 'x-max-length': 5, bin: new Uint8Array([7]) })
    expect([...v.bindings.values()].map((b) => b.routingKey)).toEqual(['k'])
    expect(back.model.users.get('alice')!.tags).toEqual(['a'])
    expect(v.permissions.get('alice')).toEqual({ configure: '.*', write: '', read: '^r' })
    back.close()
  })

  test('deletions cascade: a queue takes its bindings, a vhost everything, a user her permissions', () => {
    const file = path()
    const defs = open(file)
    defs.vhostChanged('/', meta)
    defs.vhostChanged('v', meta)
    defs.userChanged('u', { name: 'u', passwordHash: '', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [] })
    defs.permissionChanged('/', 'u', { configure: '', write: '', read: '' })
    defs.exchangeAdded('/', exchange('x'))
    defs.queueAdded('/', queue('q'))
    defs.bindingChanged('/', true, binding('x', 'q', 'k'))
    defs.queueRemoved('/', queue('q'))
    defs.queueAdded('/', queue('q'))
    defs.queueAdded('v', queue('vq'))
    defs.vhostRemoved('v')
    defs.userChanged('u', undefined)
    defs.close()
    const back = open(file)
    expect([...back.model.vhosts.keys()]).toEqual(['/'])
    expect(back.model.vhosts.get('/')!.bindings.size).toBe(0)
    expect(back.model.vhosts.get('/')!.permissions.size).toBe(0)
    expect(back.model.users.size).toBe(0)
    back.close()
  })

  test('opening compacts the log to a snapshot of the model', () => {
    const file = path()
    const defs = open(file)
    defs.vhostChanged('/', meta)
    for (let i = 0; i < 200; i++) {
      defs.queueAdded('/', queue(`q${i}`))
      defs.queueRemoved('/', queue(`q${i}`))
    }
    defs.close()
    const big = statSync(file).size
    const back = open(file)
    back.close()
    expect(statSync(file).size).toBeLessThan(big / 50)
    expect(readdirSync(join(file, '..'))).toEqual(['definitions.log'])
  })

  test('a torn last record is dropped with one warning; the rest is restored', () => {
    const file = path()
    const defs = open(file)
    defs.vhostChanged('/', meta)
    defs.queueAdded('/', queue('kept'))
    defs.queueAdded('/', queue('torn'))
    defs.close()
    truncateSync(file, readFileSync(file).byteLength - 5)
    const warnings: string[] = []
    const warn = log.warn
    log.warn = (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`)
    let back: DefinitionsLog
    try {
      back = open(file)
    } finally {
      log.warn = warn
    }
    expect([...back.model.vhosts.get('/')!.queues.keys()]).toEqual(['kept'])
    expect(warnings.length).toBe(1)
    expect(warnings[0]).toContain(file)
    expect(back.damaged).toBe(false)
    back.close()
  })
})
