/**
 * Sorting, filtering, pagination and column selection of list answers, as RabbitMQ's
 * rabbit_mgmt_util does it: `sort` (a dotted field path) goes before the default sort keys,
 * missing values sort as 0, `sort_reverse=true` reverses; with `page` the answer is the envelope
 * {total_count, item_count, filtered_count, page, page_size, page_count, items}.
 *
 * @module
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { HttpError } from '../../errors.ts'
import { parseQuery } from '../../schemas.ts'
import type { Json } from './format.ts'

/** rabbit_mgmt_util: ?DEFAULT_PAGE_SIZE and ?MAX_PAGE_SIZE. */
const DEFAULT_PAGE_SIZE = 100
const MAX_PAGE_SIZE = 500

const flag = z.enum(['true', 'false'])
const positive = z.coerce.number().int().min(1)

/** The list query parameters; others (disable_stats, lengths_age …) are accepted and ignored. */
export const listQuery = z
  .object({
    page: positive.optional(),
    page_size: positive.max(MAX_PAGE_SIZE).optional(),
    name: z.string().optional(),
    use_regex: flag.optional(),
    sort: z.string().optional(),
    sort_reverse: flag.optional(),
    columns: z.string().optional(),
  })
  .loose()

export type ListQuery = z.output<typeof listQuery>

/** Erlang's term order, which RabbitMQ's sort follows: numbers < atoms < maps < lists < binaries. */
function rank(v: unknown): number {
  if (typeof v === 'number') return 0
  if (typeof v === 'boolean' || v === null || v === undefined) return 1
  if (Array.isArray(v)) return 3
  if (typeof v === 'object') return 2
  return 4
}

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (ra === 0) return (a as number) - (b as number)
  if (ra === 4) {
    const sa = String(a)
    const sb = String(b)
    return sa < sb ? -1 : sa > sb ? 1 : 0
  }
  if (ra === 1) {
    const sa = String(a ?? 'null')
    const sb = String(b ?? 'null')
    return sa < sb ? -1 : sa > sb ? 1 : 0
  }
  return 0
}

/** The value at a dotted path; a missing leaf counts as 0, as in RabbitMQ. */
function dotted(item: Json, path: readonly string[]): unknown {
  let v: unknown = item
  for (const key of path) {
    if (v === null || typeof v !== 'object') return 0
    v = (v as Json)[key]
  }
  return v === undefined ? 0 : v
}

/** Sorts in place by `sort` (if any) then the default keys. */
export function sortItems(items: Json[], defaults: readonly string[], q: ListQuery): Json[] {
  const keys = q.sort === undefined || q.sort === '' ? [...defaults] : [q.sort, ...defaults.filter((k) => k !== q.sort)]
  const paths = keys.map((k) => k.split('.'))
  items.sort((a, b) => {
    for (const path of paths) {
      const c = compareValues(dotted(a, path), dotted(b, path))
      if (c !== 0) return c
    }
    return 0
  })
  if (q.sort_reverse === 'true') items.reverse()
  return items
}

/** `name` as a case-insensitive substring, or regular expression with use_regex=true. */
function nameFilter(q: ListQuery): ((item: Json) => boolean) | undefined {
  const name = q.name
  if (name === undefined || name === '') return undefined
  if (q.use_regex === 'true') {
    let re: RegExp
    try {
      re = new RegExp(name, 'i')
    } catch (error) {
      throw new HttpError(400, 'bad_request', `name: invalid regular expression: ${(error as Error).message}`)
    }
    return (item) => typeof item.name === 'string' && re.test(item.name)
  }
  const needle = name.toLowerCase()
  return (item) => typeof item.name === 'string' && item.name.toLowerCase().includes(needle)
}

/** columns=a,b.c: keeps only those fields (rabbit_mgmt_util:extract_column_items/2). */
function pickColumns(item: Json, columns: string[][]): Json {
  const out: Json = {}
  for (const path of columns) {
    let from: unknown = item
    let to = out
    for (let i = 0; i < path.length; i++) {
      if (from === null || typeof from !== 'object') break
      const key = path[i]!
      const value = (from as Json)[key]
      if (value === undefined) break
      if (i === path.length - 1 || value === null || typeof value !== 'object' || Array.isArray(value)) {
        to[key] = value
        break
      }
      to = (to[key] ??= {}) as Json
      from = value
    }
  }
  return out
}

/**
 * Sorts, filters and pages formatted items and answers with them (a plain array without `page`,
 * RabbitMQ's envelope with it). `items` is sorted in place.
 */
export function listAnswer(c: Context, items: Json[], defaults: readonly string[] = ['vhost', 'name']): Response {
  const q = parseQuery(c, listQuery)
  const filter = nameFilter(q)
  sortItems(items, defaults, q)
  const filtered = filter === undefined ? items : items.filter(filter)
  const columns = q.columns?.split(',').filter((s) => s !== '').map((s) => s.split('.'))
  const shape = (list: Json[]): Json[] => (columns === undefined ? list : list.map((i) => pickColumns(i, columns)))
  if (q.page === undefined) return c.json(shape(filtered))
  const pageSize = q.page_size ?? DEFAULT_PAGE_SIZE
  const offset = (q.page - 1) * pageSize
  if (offset > filtered.length) {
    throw new HttpError(
      400,
      'page_out_of_range',
      `Page out of range, page: ${q.page} page size: ${pageSize}, len: ${filtered.length}`,
    )
  }
  const page = filtered.slice(offset, offset + pageSize)
  return c.json({
    total_count: items.length,
    item_count: page.length,
    filtered_count: filtered.length,
    page: q.page,
    page_size: pageSize,
    page_count: Math.ceil(filtered.length / pageSize),
    items: shape(page),
  })
}
