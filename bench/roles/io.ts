/**
 * The line protocol between bench/run.ts and its child processes: the parent passes one JSON
 * argument, the child answers with one JSON object per stdout line, `{ "event": …, … }`.
 *
 * @module
 */

/** The child's JSON argument, typed by the caller. */
export function roleArgs<T>(): T {
  const raw = process.argv[2]
  if (!raw) throw new Error('Missing JSON argument')
  return JSON.parse(raw) as T
}

/** Writes one event line for the parent. */
export function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`)
}

/** Reports a fatal error as an event (the parent shows it) and exits non-zero. */
export function fail(err: unknown): void {
  const line = `${JSON.stringify({ event: 'error', message: err instanceof Error ? err.message : String(err) })}\n`
  // Exit only once the line is out: a pipe write may complete asynchronously.
  process.stdout.write(line, () => process.exit(1))
}

/** Exits once everything emitted so far has been written (open sockets would keep us alive). */
export function exit(code = 0): void {
  process.stdout.write('', () => process.exit(code))
}
