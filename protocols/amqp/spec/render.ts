/**
 * Turns the AMQP spec JSON (shared/spec/amqp-rabbitmq-0.9.1.json, RabbitMQ's codegen input) into
 * the source of generated.ts. Pure: same JSON in, same text out.
 *
 * @module
 */

export interface SpecField {
  name: string
  type?: string
  domain?: string
  'default-value'?: unknown
}

export interface SpecMethod {
  id: number
  name: string
  arguments: SpecField[]
  synchronous?: boolean
  content?: boolean
}

export interface SpecClass {
  id: number
  name: string
  methods: SpecMethod[]
  properties?: SpecField[]
}

export interface Spec {
  'major-version': number
  'minor-version': number
  revision: number
  port: number
  domains: [string, string][]
  constants: { name: string; value: number; class?: string }[]
  classes: SpecClass[]
}

type Kind = 'octet' | 'short' | 'long' | 'longlong' | 'timestamp' | 'bit' | 'shortstr' | 'longstr' | 'bytes' | 'table'

interface Field {
  name: string
  kind: Kind
  hasDefault: boolean
  defaultValue: unknown
}

interface Method {
  name: string
  typeName: string
  classId: number
  methodId: number
  content: boolean
  synchronous: boolean
  fields: Field[]
}

const PRIMITIVES = new Set(['octet', 'short', 'long', 'longlong', 'timestamp', 'bit', 'shortstr', 'longstr', 'table'])

/**
 * longstr arguments that carry raw SASL bytes (PLAIN responses contain NUL), so they stay bytes
 * instead of being decoded as UTF-8.
 */
const BYTE_FIELDS = new Set(['connection.start-ok response', 'connection.secure challenge', 'connection.secure-ok response'])

const TS_TYPE: Record<Kind, string> = {
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  timestamp: 'number',
  bit: 'boolean',
  shortstr: 'string',
  longstr: 'string',
  bytes: 'Uint8Array',
  table: 'Table',
}

const FIXED_SIZE: Partial<Record<Kind, number>> = { octet: 1, short: 2, long: 4, longlong: 8, timestamp: 8 }
const READ: Partial<Record<Kind, string>> = { short: 'u16', long: 'u32', longlong: 'u64', timestamp: 'u64' }
const WRITE: Record<Exclude<Kind, 'bit' | 'table'>, string> = {
  octet: 'octet',
  short: 'short',
  long: 'long',
  longlong: 'longlong',
  timestamp: 'longlong',
  shortstr: 'shortstr',
  longstr: 'longstr',
  bytes: 'longBytes',
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function pascal(name: string): string {
  const c = camel(name)
  return c[0]!.toUpperCase() + c.slice(1)
}

function constName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_')
}

function resolver(spec: Spec): (field: SpecField) => string {
  const domains = new Map(spec.domains)
  return (field) => {
    let type = field.type ?? field.domain
    // Domains can name other domains; a chain longer than the domain list would be a cycle.
    for (let i = 0; type !== undefined && !PRIMITIVES.has(type) && i <= domains.size; i++) {
      type = domains.get(type)
    }
    if (type === undefined || !PRIMITIVES.has(type)) throw new Error(`Cannot resolve the type of field "${field.name}"`)
    return type
  }
}

function toMethods(spec: Spec): Method[] {
  const resolve = resolver(spec)
  const methods: Method[] = []
  for (const cls of spec.classes) {
    for (const m of cls.methods) {
      const name = `${cls.name}.${m.name}`
      methods.push({
        name,
        typeName: pascal(cls.name) + pascal(m.name),
        classId: cls.id,
        methodId: m.id,
        content: m.content === true,
        synchronous: m.synchronous === true,
        fields: m.arguments.map((f) => {
          const type = resolve(f)
          const kind = (BYTE_FIELDS.has(`${name} ${f.name}`) ? 'bytes' : type) as Kind
          return { name: camel(f.name), kind, hasDefault: 'default-value' in f, defaultValue: f['default-value'] }
        }),
      })
    }
  }
  return methods
}

/** Emits a straight-line decoder: one bounds check per run of fixed-size fields. */
function decoder(m: Method): string[] {
  const out = [`function decode${m.typeName}(b: Uint8Array, o: number, e: number): ${m.typeName} {`]
  if (m.fields.some((f) => f.kind === 'shortstr' || f.kind === 'longstr' || f.kind === 'bytes' || f.kind === 'table')) {
    out.push('  let n: number')
  }
  let run: { size: number; reads: string[] } = { size: 0, reads: [] }
  const at = (k: number) => (k === 0 ? 'o' : `o + ${k}`)
  const flush = (last: boolean) => {
    if (run.size === 0 && !last) return
    out.push(`  if (o + ${run.size} ${last ? '!==' : '>'} e) throw MALFORMED`)
    out.push(...run.reads)
    if (!last) out.push(`  o += ${run.size}`)
    run = { size: 0, reads: [] }
  }
  let bits = -1
  let bitCount = 0
  m.fields.forEach((f, i) => {
    const last = i === m.fields.length - 1
    const v = `f${i}`
    if (f.kind === 'bit') {
      if (bits < 0 || bitCount === 8) {
        bits = i
        bitCount = 0
        run.reads.push(`  const bits${i} = b[${at(run.size)}]!`)
        run.size += 1
      }
      run.reads.push(`  const ${v} = (bits${bits} & ${1 << bitCount}) !== 0`)
      bitCount++
      if (last) flush(true)
      return
    }
    bits = -1
    const size = FIXED_SIZE[f.kind]
    if (size !== undefined) {
      const read = f.kind === 'octet' ? `b[${at(run.size)}]!` : `${READ[f.kind]}(b, ${at(run.size)})`
      run.reads.push(`  const ${v} = ${read}`)
      run.size += size
      if (last) flush(true)
      return
    }
    const prefix = f.kind === 'shortstr' ? 1 : 4
    run.reads.push(`  n = ${prefix === 1 ? `b[${at(run.size)}]!` : `u32(b, ${at(run.size)})`}`)
    run.size += prefix
    flush(false)
    out.push(`  if (o + n ${last ? '!==' : '>'} e) throw MALFORMED`)
    if (f.kind === 'shortstr') out.push(`  const ${v} = readString(b, o, n, ${!m.content})`)
    else if (f.kind === 'longstr') out.push(`  const ${v} = readString(b, o, n, false)`)
    else if (f.kind === 'bytes') out.push(`  const ${v} = b.subarray(o, o + n)`)
    else out.push(`  const ${v} = readFields(b, o, o + n, 0)`)
    if (!last) out.push('  o += n')
  })
  out.push(...wrap('  ', 'return { ', m.fields.map((f, i) => `${f.name}: f${i}`), ' }'), '}')
  return out
}

function defaultLiteral(f: Field): string {
  if (f.kind === 'table') return 'EMPTY_TABLE'
  if (typeof f.defaultValue === 'string') return `'${f.defaultValue.replace(/[\\']/g, '\\$&')}'`
  return String(f.defaultValue)
}

/** `head a, b tail` on one line when it fits in 100 columns, else one item per line. */
function wrap(indent: string, head: string, items: string[], tail: string): string[] {
  const line = `${indent}${head}${items.join(', ')}${tail}`
  if (line.length <= 100) return [line]
  return [`${indent}${head.trimEnd()}`, ...items.map((x) => `${indent}  ${x},`), `${indent}${tail.trimStart()}`]
}

/** A union type `head a | b` on one line when it fits, else one `| member` per line. */
function union(indent: string, head: string, members: string[]): string[] {
  const line = `${indent}${head} ${members.join(' | ')}`
  if (line.length <= 100) return [line]
  return [`${indent}${head}`, ...members.map((x) => `${indent}  | ${x}`)]
}

function encoder(m: Method): string[] {
  const out = [`function encode${m.typeName}(w: ByteWriter, a: EncodeArgs<'${m.name}'>): void {`]
  let group: string[] = []
  const flushBits = () => {
    const expr = group.length === 1 ? group[0]!.slice(1, -1) : group.join(' | ')
    if (group.length === 0) return
    if (expr.length <= 88) out.push(`  w.octet(${expr})`)
    else out.push('  w.octet(', ...group.map((g, i) => `    ${i === 0 ? '' : '| '}${g}`), '  )')
    group = []
  }
  for (const f of m.fields) {
    const value = f.hasDefault && f.kind !== 'bit' ? `a.${f.name} ?? ${defaultLiteral(f)}` : `a.${f.name}`
    if (f.kind === 'bit') {
      if (group.length === 8) flushBits()
      const bit = 1 << group.length
      group.push(f.defaultValue === true ? `(a.${f.name} !== false ? ${bit} : 0)` : `(a.${f.name} === true ? ${bit} : 0)`)
      continue
    }
    flushBits()
    if (f.kind === 'table') out.push(`  encodeTable(w, ${value})`)
    else out.push(`  w.${WRITE[f.kind]}(${value})`)
  }
  flushBits()
  out.push('}')
  return out
}

function propertyCodec(cls: SpecClass, resolve: (f: SpecField) => string): string[] {
  const props = (cls.properties ?? []).map((f, i) => ({ name: camel(f.name), kind: resolve(f) as Kind, flag: 1 << (15 - i) }))
  if (props.length > 14 || props.some((p) => p.kind === 'bit')) throw new Error(`Unsupported properties in class ${cls.name}`)
  const hex = (x: number) => `0x${x.toString(16)}`
  const Name = pascal(cls.name)
  const out = [
    `/** The ${props.length} ${cls.name} content properties in wire order, with their property-flag bits. */`,
    `export const ${constName(cls.name)}_PROPERTIES: readonly { name: keyof MessageProperties; type: FieldType; flag: number }[] = [`,
    ...props.map((p) => `  { name: '${p.name}', type: '${p.kind}', flag: ${hex(p.flag)} },`),
    ']',
    '',
    '/**',
    ` * Decodes ${cls.name} properties (flags, then the present fields) between o and e. Flag bits 1`,
    ' * and 0 (more flags follow) are ignored, as RabbitMQ does. Throws MALFORMED.',
    ' */',
    `export function decode${Name}Properties(b: Uint8Array, o: number, e: number): MessageProperties {`,
    '  if (o + 2 > e) throw MALFORMED',
    '  const flags = u16(b, o)',
    '  o += 2',
    '  const p: MessageProperties = {}',
    '  let n: number',
  ]
  for (const p of props) {
    out.push(`  if ((flags & ${hex(p.flag)}) !== 0) {`)
    const size = FIXED_SIZE[p.kind]
    if (size !== undefined) {
      out.push(`    if (o + ${size} > e) throw MALFORMED`)
      out.push(`    p.${p.name} = ${p.kind === 'octet' ? 'b[o]!' : `${READ[p.kind]}(b, o)`}`)
      out.push(`    o += ${size}`)
    } else {
      const prefix = p.kind === 'shortstr' ? 1 : 4
      out.push(`    if (o + ${prefix} > e) throw MALFORMED`)
      out.push(`    n = ${prefix === 1 ? 'b[o]!' : 'u32(b, o)'}`)
      out.push(`    o += ${prefix}`)
      out.push('    if (o + n > e) throw MALFORMED')
      out.push(`    p.${p.name} = ${p.kind === 'table' ? 'readFields(b, o, o + n, 0)' : 'readString(b, o, n, false)'}`)
      out.push('    o += n')
    }
    out.push('  }')
  }
  out.push('  if (o !== e) throw MALFORMED', '  return p', '}', '')
  out.push(`/** Encodes ${cls.name} properties: the flags, then each property that is not undefined. */`)
  out.push(`export function encode${Name}Properties(w: ByteWriter, p: MessageProperties): void {`)
  out.push('  const at = w.offset', '  w.short(0)', '  let flags = 0')
  for (const p of props) {
    out.push(`  if (p.${p.name} !== undefined) {`, `    flags |= ${hex(p.flag)}`)
    if (p.kind === 'table') out.push(`    encodeTable(w, p.${p.name})`)
    else out.push(`    w.${WRITE[p.kind as Exclude<Kind, 'bit' | 'table'>]}(p.${p.name})`)
    out.push('  }')
  }
  out.push('  w.shortAt(at, flags)', '}')
  return out
}

/** Renders generated.ts for `spec`. */
export function render(spec: Spec): string {
  const methods = toMethods(spec)
  const resolve = resolver(spec)
  const replies = spec.constants.filter((c) => c.class !== undefined || c.name.startsWith('REPLY-'))
  const plain = spec.constants.filter((c) => !replies.includes(c))
  const withProps = spec.classes.filter((c) => (c.properties ?? []).length > 0)
  if (withProps.length !== 1 || withProps[0]!.name !== 'basic') throw new Error('Expected only the basic class to have properties')

  const out: string[] = [
    '// Generated by protocols/amqp/spec/generate.ts from shared/spec/amqp-rabbitmq-0.9.1.json (MPL-2.0). Do not edit.',
    '/**',
    ' * AMQP 0-9-1 as RabbitMQ speaks it: constants, reply codes, class ids, the argument types of',
    ' * every method with straight-line decoders and encoders, and the basic content properties.',
    ' * Long because it is generated (a decoder and an encoder per method); run `npm run gen`.',
    ' *',
    ' * Decoders read the arguments between o and e of a method payload, throw MALFORMED or BAD_UTF8',
    ' * (mapped to AmqpError by codec/methods.ts) and AmqpError for a bad field table.',
    ' *',
    ' * @module',
    ' */',
    "import type { MessageProperties, Table } from '../../../src/api.ts'",
    "import type { ByteWriter } from '../codec/byte_writer.ts'",
    "import { EMPTY_TABLE, encodeTable, readFields } from '../codec/field_table.ts'",
    "import { MALFORMED, readString, u16, u32, u64 } from '../codec/primitives.ts'",
    '',
    `export const PROTOCOL_VERSION = { major: ${spec['major-version']}, minor: ${spec['minor-version']}, revision: ${spec.revision} } as const`,
    `export const PORT = ${spec.port}`,
    '',
    ...plain.map((c) => `export const ${constName(c.name)} = ${c.value}`),
    '',
    '/** Reply codes of connection.close and channel.close. */',
    'export const ReplyCode = {',
    ...replies.map((c) => `  ${constName(c.name)}: ${c.value},`),
    '} as const',
    'export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode]',
    '',
    '/** Reply code to its name, as the reply text starts ("NOT_FOUND - …"). */',
    'export const ReplyName: { readonly [code: number]: string | undefined } = {',
    ...replies.map((c) => `  ${c.value}: '${constName(c.name)}',`),
    '}',
    '',
    '/** Hard errors close the connection, soft errors the channel. */',
    "export const ReplyScope: { readonly [code: number]: 'connection' | 'channel' | undefined } = {",
    ...replies
      .filter((c) => c.class !== undefined)
      .map((c) => `  ${c.value}: '${c.class === 'hard-error' ? 'connection' : 'channel'}',`),
    '}',
    '',
    'export const ClassId = {',
    ...spec.classes.map((c) => `  ${constName(c.name)}: ${c.id},`),
    '} as const',
    '',
    ...union(
      '',
      'export type FieldType =',
      Object.keys(TS_TYPE).map((k) => `'${k}'`),
    ),
    '',
  ]

  for (const m of methods) {
    out.push(`/** ${m.name} (${m.classId}, ${m.methodId}) */`)
    if (m.fields.length === 0) {
      out.push(`export type ${m.typeName} = Record<string, never>`, '')
      continue
    }
    out.push(`export interface ${m.typeName} {`)
    for (const f of m.fields) out.push(`  ${f.name}: ${TS_TYPE[f.kind]}`)
    out.push('}', '')
  }

  out.push('export type MethodName =', ...methods.map((m) => `  | '${m.name}'`), '')
  out.push('/** Decoded arguments: every field present. */')
  out.push('export interface MethodArgs {', ...methods.map((m) => `  '${m.name}': ${m.typeName}`), '}', '')
  out.push('/** The fields with a spec default-value, which encoders may omit. */')
  out.push('export interface MethodDefaulted {')
  for (const m of methods) {
    const names = m.fields.filter((f) => f.hasDefault).map((f) => `'${f.name}'`)
    out.push(...union('  ', `'${m.name}':`, names.length > 0 ? names : ['never']))
  }
  out.push('}', '')
  out.push('/** Encoder arguments: as MethodArgs, but fields with a spec default-value may be omitted. */')
  out.push('export type EncodeArgs<N extends MethodName> = Omit<MethodArgs[N], MethodDefaulted[N]> &')
  out.push('  Partial<Pick<MethodArgs[N], MethodDefaulted[N] & keyof MethodArgs[N]>>', '')

  out.push('function decodeEmpty(_b: Uint8Array, o: number, e: number): Record<string, never> {')
  out.push('  if (o !== e) throw MALFORMED', '  return {}', '}', '')
  out.push('function encodeEmpty(): void {}', '')
  for (const m of methods) {
    if (m.fields.length === 0) continue
    out.push(...decoder(m), '', ...encoder(m), '')
  }

  out.push(
    '/** One method of the spec: ids, flags, argument layout and its codec. */',
    'export interface MethodSpec<N extends MethodName = MethodName> {',
    '  readonly name: N',
    '  readonly classId: number',
    '  readonly methodId: number',
    '  /** Followed by a content header and body frames. */',
    '  readonly hasContent: boolean',
    '  /** Expects a reply (unless its nowait bit is set). */',
    '  readonly synchronous: boolean',
    '  readonly fields: readonly (readonly [name: string, type: FieldType])[]',
    '  decode(b: Uint8Array, o: number, e: number): MethodArgs[N]',
    '  encode(w: ByteWriter, args: EncodeArgs<N>): void',
    '}',
    '',
    'export const METHODS: { readonly [N in MethodName]: MethodSpec<N> } = {',
  )
  for (const m of methods) {
    const fields = m.fields.map((f) => `['${f.name}', '${f.kind}']`)
    const codec = m.fields.length === 0 ? ['decodeEmpty', 'encodeEmpty'] : [`decode${m.typeName}`, `encode${m.typeName}`]
    out.push(
      `  '${m.name}': {`,
      `    name: '${m.name}',`,
      `    classId: ${m.classId},`,
      `    methodId: ${m.methodId},`,
      `    hasContent: ${m.content},`,
      `    synchronous: ${m.synchronous},`,
      ...wrap('    ', 'fields: [', fields, '],'),
      `    decode: ${codec[0]},`,
      `    encode: ${codec[1]},`,
      '  },',
    )
  }
  out.push('}', '')
  out.push('/** Methods by (classId << 16 | methodId), the first four bytes of a method payload. */')
  out.push('export const METHOD_BY_ID: ReadonlyMap<number, MethodSpec> = new Map(')
  out.push('  Object.values(METHODS).map((m: MethodSpec): [number, MethodSpec] => [(m.classId << 16) | m.methodId, m]),')
  out.push(')', '')
  for (const cls of withProps) out.push(...propertyCodec(cls, resolve))
  return `${out.join('\n')}\n`
}
