/**
 * Await a condition or an event instead of sleeping. Polls a predicate on a short timer and fails
 * with a clear message once the deadline passes.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: { timeout?: number; interval?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeout ?? 5000)
  for (;;) {
    const value = await predicate()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${opts.message ?? predicate.toString()}`)
    await new Promise((resolve) => setTimeout(resolve, opts.interval ?? 5))
  }
}

/** Resolves with the first emission of `event`, or rejects after `timeout` ms. */
export function once<T = unknown>(
  emitter: { once(event: string, listener: (value: T) => void): unknown },
  event: string,
  timeout = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Timed out waiting for '${event}'`)), timeout)
    emitter.once(event, (value: T) => {
      clearTimeout(timer)
      resolve(value)
    })
  })
}
