/**
 * A trie of AMQP topic patterns, shared by the topic exchange and MQTT subscriptions.
 *
 * Words are split on '.', exactly as RabbitMQ's `split_topic_key` does: "" is zero words,
 * "a..b" is three words and "a." is two ("a" and ""). In a pattern '*' is exactly one word and
 * '#' zero or more words.
 *
 * Matching runs the trie as an NFA: one pass over the key's words, keeping the set of live nodes,
 * so a pattern like "#.#.#.#.a" costs O(words × live nodes) instead of backtracking
 * exponentially. The two state lists are reused between calls and nodes are deduplicated per word
 * with an epoch mark, so a match allocates only the substrings of the key.
 *
 * @module
 */

class TrieNode<V> {
  /** Literal child words. */
  children: Map<string, TrieNode<V>> | undefined = undefined
  star: TrieNode<V> | undefined = undefined
  hash: TrieNode<V> | undefined = undefined
  /** True for a node reached through a '#' edge: it may swallow any number of further words. */
  readonly isHash: boolean
  values: Set<V> | undefined = undefined
  /** The epoch at which this node was last added to a state list. */
  mark = 0

  constructor(isHash: boolean) {
    this.isHash = isHash
  }

  get empty(): boolean {
    return this.values === undefined && this.star === undefined && this.hash === undefined && this.children === undefined
  }
}

export interface MatchOptions {
  /**
   * MQTT's rule [MQTT-4.7.2-1]: a key whose first word starts with '$' is not matched by a
   * pattern starting with '*' or '#'.
   */
  dollarRule?: boolean
}

const DOLLAR = 0x24

export class TopicTrie<V> {
  #root = new TrieNode<V>(false)
  #size = 0
  #epoch = 0
  // Reused state lists and dedupe set: match() calls nothing outside this class, so it can
  // never be re-entered while they are in use.
  #current: TrieNode<V>[] = []
  #next: TrieNode<V>[] = []
  #seen = new Set<V>()

  /** Number of (pattern, value) pairs. */
  get size(): number {
    return this.#size
  }

  /** Adds `value` under `pattern`; false if that exact pair is already present. */
  add(pattern: string, value: V): boolean {
    let node = this.#root
    if (pattern !== '') {
      let start = 0
      for (;;) {
        let end = pattern.indexOf('.', start)
        if (end < 0) end = pattern.length
        node = child(node, pattern.substring(start, end))
        if (end === pattern.length) break
        start = end + 1
      }
    }
    node.values ??= new Set()
    if (node.values.has(value)) return false
    node.values.add(value)
    this.#size++
    return true
  }

  /** Removes the pair; prunes nodes left empty. False if the pair was not present. */
  remove(pattern: string, value: V): boolean {
    const path: TrieNode<V>[] = [this.#root]
    const words = pattern === '' ? [] : pattern.split('.')
    let node: TrieNode<V> | undefined = this.#root
    for (const word of words) {
      node = word === '*' ? node.star : word === '#' ? node.hash : node.children?.get(word)
      if (node === undefined) return false
      path.push(node)
    }
    if (node.values === undefined || !node.values.delete(value)) return false
    if (node.values.size === 0) node.values = undefined
    this.#size--
    for (let i = path.length - 1; i > 0 && path[i]!.empty; i--) {
      const parent = path[i - 1]!
      const word = words[i - 1]!
      if (word === '*') parent.star = undefined
      else if (word === '#') parent.hash = undefined
      else {
        parent.children!.delete(word)
        if (parent.children!.size === 0) parent.children = undefined
      }
    }
    return true
  }

  /**
   * Appends to `out` every value whose pattern matches `key`, each value at most once per call.
   * Called on the publish path; must stay allocation-light.
   */
  match(key: string, out: V[], opts?: MatchOptions): void {
    let current = this.#current
    let next = this.#next
    const dollar = opts?.dollarRule === true && key.charCodeAt(0) === DOLLAR
    const root = this.#root
    if (dollar) {
      // Neither a leading '#' (even as zero words) nor a leading '*' may match.
      root.mark = ++this.#epoch
      current.push(root)
    } else {
      enter(current, root, ++this.#epoch)
    }

    if (key !== '') {
      let start = 0
      let first = true
      for (;;) {
        let end = key.indexOf('.', start)
        if (end < 0) end = key.length
        const word = key.substring(start, end)
        const epoch = ++this.#epoch
        for (let i = 0; i < current.length; i++) {
          const node = current[i]!
          if (node.isHash) enter(next, node, epoch)
          const literal = node.children?.get(word)
          if (literal !== undefined) enter(next, literal, epoch)
          if (node.star !== undefined && !(first && dollar)) enter(next, node.star, epoch)
        }
        current.length = 0
        const swap = current
        current = next
        next = swap
        if (current.length === 0 || end === key.length) break
        first = false
        start = end + 1
      }
    }

    if (current.length === 1) {
      // One node: its values are already distinct.
      const values = current[0]!.values
      if (values !== undefined) for (const v of values) out.push(v)
    } else {
      const seen = this.#seen
      for (let i = 0; i < current.length; i++) {
        const values = current[i]!.values
        if (values === undefined) continue
        for (const v of values) {
          if (seen.has(v)) continue
          seen.add(v)
          out.push(v)
        }
      }
      seen.clear()
    }
    current.length = 0
    this.#current = current
    this.#next = next
  }
}

function child<V>(node: TrieNode<V>, word: string): TrieNode<V> {
  if (word === '*') return (node.star ??= new TrieNode(false))
  if (word === '#') return (node.hash ??= new TrieNode(true))
  node.children ??= new Map()
  let found = node.children.get(word)
  if (found === undefined) {
    found = new TrieNode(false)
    node.children.set(word, found)
  }
  return found
}

/** Adds `node` and the '#' nodes hanging off it (which may match zero words) to `list`. */
function enter<V>(list: TrieNode<V>[], node: TrieNode<V> | undefined, epoch: number): void {
  while (node !== undefined && node.mark !== epoch) {
    node.mark = epoch
    list.push(node)
    node = node.hash
  }
}
