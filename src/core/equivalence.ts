/**
 * Redeclare equivalence, as rabbit_misc:assert_field_equivalence/4 and
 * assert_args_equivalence/4: a redeclare with different properties fails with
 * "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'".
 *
 * @module
 */
import type { FieldValue, Table } from '../api.ts'
import { preconditionFailed, rs } from './errors.ts'
import { fieldTypeName } from './exchanges/field_values.ts'

type Scalar = string | boolean

/** Numbers compare across integer widths (a short 5 equals a long 5), as rabbit_misc:type_class/1. */
function typeClass(type: string): string {
  switch (type) {
    case 'byte':
    case 'short':
    case 'signedint':
    case 'long':
    case 'decimal':
    case 'unsignedbyte':
    case 'unsignedshort':
    case 'unsignedint':
      return 'int'
    case 'float':
    case 'double':
      return 'float'
    default:
      return type
  }
}

/** The plain value inside a field value, for printing and comparing. */
function plain(v: FieldValue): unknown {
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date) && !Array.isArray(v)) {
    const typed = v as { kind?: unknown; value?: unknown; scale?: unknown }
    if (typed.kind === 'typed-number') return typed.value
    if (typed.kind === 'decimal') return `${String(typed.value)}e-${String(typed.scale)}`
  }
  if (v instanceof Date) return Math.floor(v.getTime() / 1000)
  return v
}

function show(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  if (v instanceof Uint8Array) return new TextDecoder().decode(v)
  return JSON.stringify(v) ?? 'undefined'
}

/** rabbit_misc:val/1 for an argument: "the value '2' of type 'byte'", or "none". */
function argVal(v: FieldValue): string {
  if (v === undefined) return 'none'
  return `the value '${show(plain(v))}' of type '${fieldTypeName(v)}'`
}

function fail(key: string, kind: 'queue' | 'exchange', name: string, vhost: string, received: string, current: string): never {
  throw preconditionFailed(
    `inequivalent arg '${key}' for ${rs(kind, name, vhost)}: received ${received} but current is ${current}`,
  )
}

/** A declared property (durable, type …) must match the existing entity's. */
export function assertField(
  key: string,
  current: Scalar,
  received: Scalar,
  entity: { kind: 'queue' | 'exchange'; name: string; vhost: string },
): void {
  if (current !== received) fail(key, entity.kind, entity.name, entity.vhost, `'${received}'`, `'${current}'`)
}

function argsMatch(a: FieldValue, b: FieldValue): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  if (typeClass(fieldTypeName(a)) !== typeClass(fieldTypeName(b))) return false
  const pa = plain(a)
  const pb = plain(b)
  if (pa instanceof Uint8Array || pb instanceof Uint8Array) return show(pa) === show(pb)
  // Loose equality: a number and a bigint compare by value.
  if (typeof pa !== 'object' && typeof pb !== 'object') return pa == pb
  return JSON.stringify(pa) === JSON.stringify(pb)
}

/** Compares only `keys` of the argument tables, as RabbitMQ does per queue/exchange type. */
export function assertArgs(
  current: Table | undefined,
  received: Table | undefined,
  keys: readonly string[],
  entity: { kind: 'queue' | 'exchange'; name: string; vhost: string },
): void {
  for (const key of keys) {
    const a = current?.[key]
    const b = received?.[key]
    if (argsMatch(a, b)) continue
    // A classic queue equals one declared without x-queue-type (rabbitmq-common#341).
    if (key === 'x-queue-type' && (a ?? 'classic') === 'classic' && (b ?? 'classic') === 'classic') continue
    fail(key, entity.kind, entity.name, entity.vhost, argVal(b), argVal(a))
  }
}
