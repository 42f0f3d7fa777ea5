import { describe, expect, test } from 'bun:test'
import { BrokerError } from '../api.ts'
import { alternateWithPolicy, comparePolicies, matchExchangePolicy, matchQueuePolicy, parsePolicy, queueConfigWithPolicy } from './policy.ts'
import { queueConfig } from './queue_args.ts'

function reason(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError)
    expect((error as BrokerError).code).toBe('invalid-argument')
    return (error as Error).message
  }
  throw new Error('expected a validation error')
}

describe('parsePolicy', () => {
  test('defaults: priority 0, apply-to all; the definition is copied', () => {
    const def = { 'max-length': 3 }
    const p = parsePolicy('/', 'p', { pattern: '^a', definition: def })
    expect(p).toMatchObject({ vhost: '/', name: 'p', pattern: '^a', applyTo: 'all', priority: 0, definition: { 'max-length': 3 } })
    expect(p.definition).not.toBe(def)
  })

  test("RabbitMQ's texts for bad values and unknown keys", () => {
    expect(reason(() => parsePolicy('/', 'p', { pattern: '.*', definition: { foo: 'bar', 'max-length': 1 } }))).toBe(
      'Validation failed\n\n[{<<"foo">>,<<"bar">>}] are not recognised policy settings\n',
    )
    expect(reason(() => parsePolicy('/', 'p', { pattern: '.*', definition: { 'max-length-bytes': 1.5 } }))).toContain(
      '1.5 is not a valid maximum length in bytes',
    )
    expect(reason(() => parsePolicy('/', 'p', { pattern: '.*', definition: { 'delivery-limit': -2 } }))).toContain('-2 is not a valid delivery limit')
    expect(reason(() => parsePolicy('/', 'p', { pattern: '.*', definition: { 'queue-mode': 'fast' } }))).toContain('is not a valid queue-mode value')
    expect(reason(() => parsePolicy('/', 'p', { pattern: '.*', definition: [] }))).toContain('definition must be a dictionary')
    expect(reason(() => parsePolicy('/', 'p', { pattern: '[', definition: { expires: 1 } }))).toContain('pattern')
  })
})

describe('matching', () => {
  const policies = [
    parsePolicy('/', 'b', { pattern: '^q', definition: { 'max-length': 1 }, priority: 1 }),
    parsePolicy('/', 'a', { pattern: '^q', definition: { 'max-length': 2 }, priority: 1 }),
    parsePolicy('/', 'top', { pattern: '^q\\.top', definition: { 'max-length': 3 }, priority: 2, 'apply-to': 'quorum_queues' }),
    parsePolicy('/', 'x', { pattern: '^q', definition: { 'alternate-exchange': 'ae' }, priority: 9, 'apply-to': 'exchanges' }),
    parsePolicy('/', 's', { pattern: '.*', definition: { 'max-age': '1D' }, priority: 99, 'apply-to': 'streams' }),
  ].sort(comparePolicies)

  test('highest priority wins; equal priorities go by name; apply-to filters by kind and type', () => {
    expect(matchQueuePolicy(policies, 'q.top', 'quorum')?.name).toBe('top')
    expect(matchQueuePolicy(policies, 'q.top', 'classic')?.name).toBe('a')
    expect(matchQueuePolicy(policies, 'other', 'classic')).toBeUndefined()
    expect(matchExchangePolicy(policies, 'q.x')?.name).toBe('x')
    expect(matchExchangePolicy(policies, 'zzz')).toBeUndefined()
  })
})

describe('queueConfigWithPolicy', () => {
  const policy = parsePolicy('/', 'p', {
    pattern: '.*',
    definition: {
      'max-length': 5,
      'max-length-bytes': 100,
      'message-ttl': 1000,
      expires: 60000,
      overflow: 'reject-publish',
      'dead-letter-exchange': 'pdlx',
      'dead-letter-routing-key': 'prk',
      'delivery-limit': 4,
    },
  })

  test('no arguments: the policy settings', () => {
    expect(queueConfigWithPolicy(queueConfig(undefined), policy)).toMatchObject({
      maxLength: 5,
      maxLengthBytes: 100,
      messageTtl: 1000,
      expires: 60000,
      overflow: 'reject-publish',
      deadLetterExchange: 'pdlx',
      deadLetterRoutingKey: 'prk',
      deliveryLimit: undefined,
    })
  })

  test('limits take the minimum; overflow and dead-lettering yield to arguments', () => {
    const base = queueConfig({
      'x-max-length': 10,
      'x-max-length-bytes': 50,
      'x-message-ttl': 5000,
      'x-expires': 1000,
      'x-overflow': 'drop-head',
      'x-dead-letter-exchange': 'own',
      'x-queue-type': 'quorum',
      'x-delivery-limit': 2,
    })
    expect(queueConfigWithPolicy(base, policy)).toMatchObject({
      maxLength: 5,
      maxLengthBytes: 50,
      messageTtl: 1000,
      expires: 1000,
      overflow: 'drop-head',
      deadLetterExchange: 'own',
      deadLetterRoutingKey: 'prk',
      deliveryLimit: 2,
    })
    expect(queueConfigWithPolicy(queueConfig({ 'x-queue-type': 'quorum' }), policy).deliveryLimit).toBe(4)
    expect(queueConfigWithPolicy(base, undefined)).toBe(base)
  })

  test('alternate exchange: the argument wins', () => {
    const ae = parsePolicy('/', 'ae', { pattern: '.*', definition: { 'alternate-exchange': 'pol' } })
    expect(alternateWithPolicy(undefined, ae)).toBe('pol')
    expect(alternateWithPolicy('own', ae)).toBe('own')
    expect(alternateWithPolicy(undefined, undefined)).toBeUndefined()
  })
})
