/**
 * Sender-selected distribution (RabbitMQ's CC and BCC headers, rabbit_basic:header_routes/1):
 * each string in a "CC" or "BCC" array header is one more routing key for the same publish, the
 * message reaches the union of the destinations once each, and "BCC" is removed from the message
 * every queue stores. Only the publish of a message whose headers carry one of them pays anything.
 *
 * @module
 */
import type { FieldValue, Message, Table } from '../api.ts'
import { preconditionFailed } from './errors.ts'
import type { Destination, Exchange } from './exchange.ts'
import { fieldTypeName } from './exchanges/field_values.ts'
import type { Queue } from './queue.ts'
import type { Vhost } from './vhost.ts'

/** RabbitMQ's ?ROUTING_HEADERS, in its order; ?DELETED_HEADER is the second. */
const CC = 'CC'
const BCC = 'BCC'

/**
 * The extra routing keys `headers` selects, or undefined when it has neither header (the common
 * case: two property reads). Array entries other than strings are skipped, as RabbitMQ keeps only
 * its longstr entries. A CC or BCC that is not an array fails the publish like RabbitMQ's
 * "invalid message" when `strict`; otherwise (protocols whose headers are free-form strings, such
 * as MQTT 5 user properties) it is ignored.
 */
export function headerRoutes(headers: Table, strict: boolean): string[] | undefined {
  const cc = headers[CC]
  const bcc = headers[BCC]
  if (cc === undefined && bcc === undefined) return undefined
  const keys: string[] = []
  collect(CC, cc, keys, strict)
  collect(BCC, bcc, keys, strict)
  return keys
}

function collect(name: string, value: FieldValue, keys: string[], strict: boolean): void {
  if (value === undefined) return
  if (!Array.isArray(value)) {
    if (!strict) return
    // Erlang's ~p of {unacceptable_type_in_header, "CC", longstr}.
    throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${name}",${fieldTypeName(value)}}`)
  }
  for (const entry of value) if (typeof entry === 'string') keys.push(entry)
}

/** Whether the message carries a BCC header to remove before it is stored. */
export function hasBcc(headers: Table): boolean {
  return headers[BCC] !== undefined
}

/**
 * The message without its BCC header: one shallow copy of the message, its properties and its
 * headers; the body and every other header value are shared.
 */
export function withoutBcc(message: Message): Message {
  const { [BCC]: _dropped, ...headers } = message.properties.headers!
  return { ...message, properties: { ...message.properties, headers } }
}

/**
 * Appends to `out` every queue that `x` routes any of `keys` to, each once: the walk of
 * exchange.ts's `route` with all keys offered to each exchange, so an alternate exchange takes
 * over only when no key routes (rabbit_exchange:route1/4 with a delivery's several routing keys).
 * The default exchange routes each key to the queue of that name. Allocates a set per call,
 * which only CC/BCC publishes make.
 */
export function routeKeys(vhost: Vhost, x: Exchange, keys: readonly string[], headers: Table | undefined, out: Queue[]): void {
  const seen = new Set<Destination>()
  if (x === vhost.defaultExchange) {
    for (const key of keys) {
      const q = vhost.queues.get(key)
      if (q !== undefined && !seen.has(q)) {
        seen.add(q)
        out.push(q)
      }
    }
    return
  }
  seen.add(x)
  const work: Exchange[] = [x]
  const found: Destination[] = []
  // Bounded: each exchange enters `work` at most once (guarded by `seen`).
  while (work.length > 0) {
    const current = work.pop()!
    found.length = 0
    for (const key of keys) current.router.route(key, headers, found)
    if (found.length === 0 && current.alternate !== undefined) {
      const alternate = vhost.exchanges.get(current.alternate)
      if (alternate !== undefined) found.push(alternate)
    }
    for (const d of found) {
      if (seen.has(d)) continue
      seen.add(d)
      if (d.kind === 'queue') out.push(d)
      else work.push(d)
    }
  }
}
