/**
 * The behaviour every exchange type's router must have, whatever its routing rule. Each type's
 * test calls `runExchangeContract(type)`.
 *
 * The suite relies on one fact true of every type: a binding with routing key "k" and no
 * arguments (or only ignored "x-" arguments) matches a message with routing key "k" and no
 * headers.
 *
 * @module
 */
import { describe, expect, test } from 'bun:test'
import type { ExchangeType } from './exchange_type.ts'

export function runExchangeContract(type: ExchangeType): void {
  describe(`exchange contract: ${type.name}`, () => {
    test('create() starts empty', () => {
      const router = type.create<string>()
      expect(router.size).toBe(0)
      expect(router.hasBindings()).toBe(false)
      expect(router.hasBindings('q')).toBe(false)
      expect([...router.bindings()]).toEqual([])
      const out: string[] = []
      router.route('k', undefined, out)
      expect(out).toEqual([])
    })

    test('bind() refuses an identical binding and counts distinct ones', () => {
      const router = type.create<string>()
      expect(router.bind('q', 'k', undefined)).toBe(true)
      expect(router.bind('q', 'k', undefined)).toBe(false)
      expect(router.bind('q', 'k', {})).toBe(false) // no args and an empty table are the same
      expect(router.bind('q', 'k2', undefined)).toBe(true)
      expect(router.bind('q2', 'k', undefined)).toBe(true)
      expect(router.bind('q', 'k', { 'x-a': 1, 'x-b': 'two' })).toBe(true)
      // Deep-equal args in another order and another object are the same binding.
      expect(router.bind('q', 'k', { 'x-b': 'two', 'x-a': 1 })).toBe(false)
      expect(router.bind('q', 'k', { 'x-a': 2, 'x-b': 'two' })).toBe(true)
      expect(router.size).toBe(5)
      expect(router.hasBindings()).toBe(true)
      expect(router.hasBindings('q')).toBe(true)
      expect(router.hasBindings('nope')).toBe(false)
    })

    test('bind() compares nested args deeply', () => {
      const router = type.create<string>()
      const args = () => ({ 'x-t': { list: [1, 'a', new Uint8Array([1, 2])], flag: true } })
      expect(router.bind('q', 'k', args())).toBe(true)
      expect(router.bind('q', 'k', args())).toBe(false)
      expect(router.bind('q', 'k', { 'x-t': { list: [1, 'a', new Uint8Array([1, 3])], flag: true } })).toBe(true)
    })

    test('unbind() removes only the identical binding', () => {
      const router = type.create<string>()
      router.bind('q', 'k', undefined)
      router.bind('q', 'k', { 'x-a': 1 })
      expect(router.unbind('q', 'k', { 'x-a': 2 })).toBe(false)
      expect(router.unbind('q', 'other', undefined)).toBe(false)
      expect(router.unbind('q2', 'k', undefined)).toBe(false)
      expect(router.unbind('q', 'k', { 'x-a': 1 })).toBe(true)
      expect(router.unbind('q', 'k', { 'x-a': 1 })).toBe(false)
      expect(router.size).toBe(1)
      expect(router.unbind('q', 'k', {})).toBe(true)
      expect(router.size).toBe(0)
      expect(router.hasBindings('q')).toBe(false)
      const out: string[] = []
      router.route('k', undefined, out)
      expect(out).toEqual([])
    })

    test('route() appends to out and yields each destination once', () => {
      const router = type.create<string>()
      router.bind('q', 'k', undefined)
      router.bind('q', 'k', { 'x-ignored': 'yes' })
      router.bind('q2', 'k', undefined)
      const out = ['already']
      router.route('k', undefined, out)
      expect(out[0]).toBe('already')
      expect(out.slice(1).sort()).toEqual(['q', 'q2'])
    })

    test('route() accepts object destinations by identity', () => {
      const router = type.create<{ name: string }>()
      const a = { name: 'a' }
      const lookalike = { name: 'a' }
      router.bind(a, 'k', undefined)
      expect(router.bind(lookalike, 'k', undefined)).toBe(true)
      const out: { name: string }[] = []
      router.route('k', undefined, out)
      expect(out.length).toBe(2)
      expect(out).toContain(a)
      expect(out).toContain(lookalike)
    })

    test('removeDestination() drops every binding of one destination', () => {
      const router = type.create<string>()
      router.bind('q', 'k', undefined)
      router.bind('q', 'k2', undefined)
      router.bind('q', 'k', { 'x-a': 1 })
      router.bind('other', 'k', undefined)
      expect(router.removeDestination('q')).toBe(3)
      expect(router.removeDestination('q')).toBe(0)
      expect(router.removeDestination('never')).toBe(0)
      expect(router.size).toBe(1)
      expect(router.hasBindings('q')).toBe(false)
      const out: string[] = []
      router.route('k', undefined, out)
      expect(out).toEqual(['other'])
      // The destination can be bound again afterwards.
      expect(router.bind('q', 'k', undefined)).toBe(true)
    })

    test('bindings() lists every binding with its args', () => {
      const router = type.create<string>()
      router.bind('q', 'k', undefined)
      router.bind('q', 'k', { 'x-a': 1 })
      router.bind('q2', 'k2', undefined)
      const listed = [...router.bindings()]
      expect(listed.length).toBe(router.size)
      expect(listed).toContainEqual({ destination: 'q', routingKey: 'k', args: undefined })
      expect(listed).toContainEqual({ destination: 'q', routingKey: 'k', args: { 'x-a': 1 } })
      expect(listed).toContainEqual({ destination: 'q2', routingKey: 'k2', args: undefined })
    })

    test('size stays consistent through many binds and unbinds', () => {
      const router = type.create<number>()
      for (let i = 0; i < 200; i++) router.bind(i % 20, `k${i % 7}`, i % 3 === 0 ? undefined : { 'x-i': i % 3 })
      expect(router.size).toBe([...router.bindings()].length)
      for (let d = 0; d < 20; d += 2) router.removeDestination(d)
      expect(router.size).toBe([...router.bindings()].length)
      for (const b of [...router.bindings()]) expect(router.unbind(b.destination, b.routingKey, b.args)).toBe(true)
      expect(router.size).toBe(0)
      expect(router.hasBindings()).toBe(false)
    })

    test('validateBindingArgs() accepts no args', () => {
      expect(() => type.validateBindingArgs?.(undefined)).not.toThrow()
      expect(() => type.validateBindingArgs?.({})).not.toThrow()
    })
  })
}
