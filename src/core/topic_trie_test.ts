import { describe, expect, test } from 'bun:test'
import { TopicTrie } from './topic_trie.ts'

function matched<V>(trie: TopicTrie<V>, key: string, opts?: { dollarRule?: boolean }): V[] {
  const out: V[] = []
  trie.match(key, out, opts)
  return out
}

function trieOf(patterns: string[]): TopicTrie<string> {
  const trie = new TopicTrie<string>()
  for (const p of patterns) trie.add(p, p)
  return trie
}

describe('TopicTrie', () => {
  const cases: [pattern: string, key: string, matches: boolean][] = [
    ['a.b', 'a.b', true],
    ['a.b', 'a.b.c', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a', false],
    ['a.*', 'a.b.c', false],
    ['a.#', 'a', true],
    ['a.#', 'a.b.c', true],
    ['#.c', 'c', true],
    ['#.c', 'a.b.c', true],
    ['#.c', 'a.b.c.d', false],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.b.c', true],
    ['a.#.c', 'a.b.b.d', false],
    ['*.#.*', 'a', false],
    ['*.#.*', 'a.b', true],
    ['#.*', '', false],
    ['#', '', true],
    ['', '', true],
    ['*', '', false],
    // Empty words are words: "" is zero words, "a." two, "a..b" three (RabbitMQ's split_topic_key).
    ['*', '.', false],
    ['*.*', '.', true],
    ['a.*', 'a.', true],
    ['a.*.b', 'a..b', true],
    ['a..b', 'a..b', true],
    ['a..b', 'a.b', false],
    ['a.#.b', 'a..b', true],
    ['.', '.', true],
    ['', '.', false],
    // A routing key may contain the wildcard characters; they only match as words.
    ['a.*', 'a.*', true],
    ['a.b*', 'a.bc', false],
    ['a.b#', 'a.b#', true],
  ]
  for (const [pattern, key, expected] of cases) {
    test(`match() "${pattern}" ${expected ? 'matches' : 'does not match'} "${key}"`, () => {
      expect(matched(trieOf([pattern]), key)).toEqual(expected ? [pattern] : [])
    })
  }

  test('match() yields a value once even when several of its patterns match', () => {
    const trie = new TopicTrie<string>()
    trie.add('a.*', 'v')
    trie.add('a.#', 'v')
    trie.add('#', 'v')
    trie.add('#.#', 'w')
    expect(matched(trie, 'a.b').sort()).toEqual(['v', 'w'])
    // The dedupe state does not leak into the next call.
    expect(matched(trie, 'a.b').sort()).toEqual(['v', 'w'])
  })

  test('match() appends without clearing out', () => {
    const trie = trieOf(['a'])
    const out = ['x']
    trie.match('a', out)
    expect(out).toEqual(['x', 'a'])
  })

  test('add() and remove() keep set semantics and size', () => {
    const trie = new TopicTrie<number>()
    expect(trie.add('a.*', 1)).toBe(true)
    expect(trie.add('a.*', 1)).toBe(false)
    expect(trie.add('a.*', 2)).toBe(true)
    expect(trie.add('a.#', 1)).toBe(true)
    expect(trie.size).toBe(3)
    expect(trie.remove('a.*', 3)).toBe(false)
    expect(trie.remove('a.b', 1)).toBe(false)
    expect(trie.remove('a.*', 1)).toBe(true)
    expect(trie.remove('a.*', 1)).toBe(false)
    expect(trie.size).toBe(2)
    expect(matched(trie, 'a.b').sort()).toEqual([1, 2])
    trie.remove('a.*', 2)
    trie.remove('a.#', 1)
    expect(trie.size).toBe(0)
    expect(matched(trie, 'a.b')).toEqual([])
    // Pruned paths can be added again.
    trie.add('a.*', 5)
    expect(matched(trie, 'a.b')).toEqual([5])
  })

  test('remove() prunes a branch without disturbing a longer pattern through it', () => {
    const trie = new TopicTrie<string>()
    trie.add('a.b', 'short')
    trie.add('a.b.c', 'long')
    trie.remove('a.b', 'short')
    expect(matched(trie, 'a.b')).toEqual([])
    expect(matched(trie, 'a.b.c')).toEqual(['long'])
  })

  describe('dollarRule (MQTT)', () => {
    const trie = trieOf(['#', '*.b', '+', '$SYS.#', '$SYS.*', 'a.#', '#.b'])
    test('a leading wildcard does not match a key starting with $', () => {
      expect(matched(trie, '$SYS.b', { dollarRule: true }).sort()).toEqual(['$SYS.#', '$SYS.*'])
      expect(matched(trie, '$SYS', { dollarRule: true })).toEqual(['$SYS.#'])
    })
    test('without the rule, AMQP semantics apply', () => {
      expect(matched(trie, '$SYS.b').sort()).toEqual(['#', '#.b', '$SYS.#', '$SYS.*', '*.b'])
    })
    test('only the first word is special', () => {
      expect(matched(trie, 'a.$b', { dollarRule: true }).sort()).toEqual(['#', 'a.#'])
      expect(matched(trie, 'x.b', { dollarRule: true }).sort()).toEqual(['#', '#.b', '*.b'])
    })
  })

  test('match() stays fast on patterns that make backtracking matchers explode', () => {
    const trie = new TopicTrie<string>()
    const nasty = '#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.a'
    trie.add(nasty, 'nasty')
    trie.add('#.*.#.*.#.*.#.*.#.*.#.b', 'stars')
    const key = Array.from({ length: 200 }, () => 'x').join('.')
    const started = performance.now()
    expect(matched(trie, key)).toEqual([])
    expect(matched(trie, `${key}.a`)).toEqual(['nasty'])
    expect(matched(trie, `${key}.b`)).toEqual(['stars'])
    expect(performance.now() - started).toBeLessThan(500)
  })

  test('match() handles many patterns and values', () => {
    const trie = new TopicTrie<number>()
    for (let i = 0; i < 1000; i++) trie.add(`s.${i % 50}.*`, i)
    expect(trie.size).toBe(1000)
    expect(matched(trie, 's.7.x').length).toBe(20)
    expect(matched(trie, 's.7').length).toBe(0)
  })

  test('match() agrees with a reference matcher on random patterns and keys', () => {
    // Reference: RabbitMQ's word-list recursion, fine for short inputs.
    const split = (s: string) => (s === '' ? [] : s.split('.'))
    const ref = (p: string[], k: string[]): boolean => {
      if (p.length === 0) return k.length === 0
      const [head, ...rest] = p
      if (head === '#') return ref(rest, k) || (k.length > 0 && ref(p, k.slice(1)))
      return k.length > 0 && (head === '*' || head === k[0]) && ref(rest, k.slice(1))
    }
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const words = ['a', 'b', '', '*', '#']
    const build = (max: number, alphabet: string[]) =>
      Array.from({ length: rand(max + 1) }, () => alphabet[rand(alphabet.length)]).join('.')
    const patterns = Array.from({ length: 300 }, () => build(5, words))
    const trie = new TopicTrie<number>()
    patterns.forEach((p, i) => trie.add(p, i))
    for (let n = 0; n < 300; n++) {
      const key = build(6, ['a', 'b', ''])
      const expected = patterns.flatMap((p, i) => (ref(split(p), split(key)) ? [i] : []))
      expect([key, matched(trie, key).sort((x, y) => x - y)]).toEqual([key, expected])
    }
  })
})
