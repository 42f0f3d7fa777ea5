/**
 * Exchanges and the routing walk: exchange-to-exchange bindings and alternate exchanges, each
 * queue reached once per publish, cycles cut as in rabbit_exchange:route1/4.
 *
 * @module
 */
import type { Table } from '../api.ts'
import type { ExchangeRouter } from './exchange_type.ts'
import { alternateWithPolicy, type CompiledPolicy } from './policy.ts'
import type { Queue } from './queue.ts'

export type Destination = Queue | Exchange

export interface ExchangeOptions {
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  args: Table | undefined
}

export class Exchange {
  readonly kind = 'exchange'
  readonly name: string
  readonly type: string
  readonly durable: boolean
  readonly autoDelete: boolean
  readonly internal: boolean
  readonly args: Table | undefined
  readonly router: ExchangeRouter<Destination>
  /**
   * Where messages this exchange cannot route go: the alternate-exchange argument, else the
   * effective policy's alternate-exchange.
   */
  alternate: string | undefined
  /** The alternate-exchange argument alone. */
  readonly argumentAlternate: string | undefined
  /** The effective policy, if any (see setPolicy). */
  policy: CompiledPolicy | undefined
  /** Routing epoch that last visited this exchange (cycle cut). */
  routeMark = 0
  /** Exchanges with at least one binding to this exchange. */
  readonly boundFrom = new Set<Exchange>()
  deleted = false

  constructor(opts: ExchangeOptions, router: ExchangeRouter<Destination>) {
    this.name = opts.name
    this.type = opts.type
    this.durable = opts.durable
    this.autoDelete = opts.autoDelete
    this.internal = opts.internal
    this.args = opts.args
    this.router = router
    const ae = opts.args?.['alternate-exchange']
    this.argumentAlternate = typeof ae === 'string' ? ae : undefined
    this.alternate = this.argumentAlternate
    this.policy = undefined
  }

  /** A policy was set, changed or cleared: the alternate exchange is resolved again. */
  setPolicy(policy: CompiledPolicy | undefined): void {
    this.policy = policy
    this.alternate = alternateWithPolicy(this.argumentAlternate, policy)
  }
}

let epoch = 0
/** Reused across publishes: routing never re-enters itself. */
const found: Destination[] = []
const work: Exchange[] = []

/**
 * Appends to `out` every queue `x` routes `routingKey`/`headers` to, each once. An exchange
 * that routes nowhere hands over to its alternate exchange. Hot path: allocates nothing.
 */
export function route(
  exchanges: ReadonlyMap<string, Exchange>,
  x: Exchange,
  routingKey: string,
  headers: Table | undefined,
  out: Queue[],
): void {
  const mark = ++epoch
  x.routeMark = mark
  work.push(x)
  while (work.length > 0) {
    const current = work.pop()!
    const start = found.length
    current.router.route(routingKey, headers, found)
    if (found.length === start && current.alternate !== undefined) {
      const alternate = exchanges.get(current.alternate)
      if (alternate !== undefined) found.push(alternate)
    }
    for (let i = start; i < found.length; i++) {
      const d = found[i]!
      if (d.routeMark === mark) continue
      d.routeMark = mark
      if (d.kind === 'queue') out.push(d)
      else work.push(d)
    }
    found.length = start
  }
}
