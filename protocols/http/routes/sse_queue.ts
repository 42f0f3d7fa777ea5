/**
 * Consuming a queue over Server-Sent Events, at least once:
 * - `GET /api/sse/{vhost}/queues/{queue}?ack=auto|explicit&prefetch=N&payload_encoding=auto|base64`
 *   opens (or, with a Last-Event-ID header or `last_event_id` query naming a live stream,
 *   resumes) a queue stream. It begins with `retry:` and an `event: stream` whose data is
 *   `{stream, queue, ack, prefetch}` and whose id lets a reconnect find the stream even before the
 *   first message; each message is an unnamed event with id `<stream>:<n>` and the same data as
 *   a live subscription (`redelivered` set on messages seen before).
 * - `POST /api/sse/{vhost}/queues/{queue}/ack` with `{"up_to": "<event id>"}` acknowledges every
 *   delivery of that stream up to the id; answers `{"acked": count}`.
 *
 * The confirmation rules are in queue_lease.ts and the README.
 *
 * @module
 */
import type { Context, Hono } from 'hono'
import { z } from 'zod'
import type { HttpEnv } from '../app.ts'
import { requireUser } from '../auth.ts'
import { badRequest, notFoundError } from '../errors.ts'
import { parseJson, validate } from '../schemas.ts'
import { connectFor, type MessagingContext } from './messaging.ts'
import { parseEventId, QueueLease } from './queue_lease.ts'
import { SseStream, sseResponse } from './sse_stream.ts'
import { STREAMS_NAMESPACE } from './stream_records.ts'

const ackBody = z.object({ up_to: z.string().min(3).max(200) })

function queueQuery(maxPrefetch: number) {
  return z.object({
    ack: z.enum(['auto', 'explicit']).default('auto'),
    prefetch: z.coerce.number().int().min(1).max(maxPrefetch).optional(),
    payload_encoding: z.enum(['auto', 'base64']).default('auto'),
  })
}

export function sseQueueRoutes(app: Hono<HttpEnv>, ctx: MessagingContext): void {
  const query = queueQuery(ctx.opts.maxPrefetch)

  app.get('/api/sse/:vhost/queues/:queue', requireUser(), (c) => {
    const vhost = c.req.param('vhost')
    const queue = c.req.param('queue')
    const q = validate(
      query,
      { ack: c.req.query('ack'), prefetch: c.req.query('prefetch'), payload_encoding: c.req.query('payload_encoding') },
      'query',
    )
    const last = parseEventId(c.req.header('last-event-id') ?? c.req.query('last_event_id'))
    let lease = last === undefined ? undefined : findLease(c, ctx, last.lease)
    let resumeN = lease === undefined ? undefined : last?.n
    if (lease === undefined) {
      const connection = connectFor(c, vhost, 'SSE queue consumer')
      ctx.records.open(connection.keyValue(STREAMS_NAMESPACE))
      // A stream the broker closed (restart, shutdown, management) resumes from its record with
      // its own settings. A Last-Event-ID of a stream that is gone (expired, deleted) is no
      // error: its unconfirmed messages went back to the queue and come again to this new one.
      const resumed = last === undefined ? undefined : ctx.records.resume(last.lease, connection.user.name, vhost, queue)
      if (resumed !== undefined) resumeN = last?.n
      lease = new QueueLease(connection, {
        id: resumed?.id ?? crypto.randomUUID(),
        queue,
        mode: resumed?.ack ?? q.ack,
        prefetch: resumed?.prefetch ?? q.prefetch ?? Math.min(ctx.opts.prefetch, ctx.opts.maxPrefetch),
        payloadEncoding: resumed?.enc ?? q.payload_encoding,
        toTopic: ctx.topics.toTopic,
        resumeTimeoutMs: ctx.opts.resumeTimeoutMs,
        onClosed: (closed) => ctx.leases.delete(closed.id),
        records: ctx.records,
        ...(resumed === undefined ? {} : { resumed }),
      })
      ctx.leases.set(lease.id, lease)
    }
    const attached = lease
    const stream: SseStream = new SseStream({
      onWritable: (writable) => attached.setWritable(stream, writable),
      maxBatchEvents: ctx.opts.maxBatchEvents,
    })
    ctx.heartbeats.add(stream)
    void (async () => {
      try {
        stream.writeRaw(`retry: ${ctx.opts.retryMs}\n\n`)
        attached.attach(stream, resumeN)
        await stream.done
      } catch (error) {
        console.error(error)
      } finally {
        ctx.heartbeats.delete(stream)
        attached.detach(stream)
      }
    })()
    return sseResponse(c, stream)
  })

  app.post('/api/sse/:vhost/queues/:queue/ack', requireUser(), async (c) => {
    const body = await parseJson(c, ackBody)
    const id = parseEventId(body.up_to)
    if (id === undefined) throw badRequest('up_to: expected an event id "<stream>:<n>"')
    const lease = findLease(c, ctx, id.lease)
    if (lease === undefined) {
      throw notFoundError(`no SSE stream '${id.lease}' on queue '${c.req.param('queue')}' in vhost '${c.req.param('vhost')}'`)
    }
    let acked: number
    try {
      acked = lease.confirm(id.n)
    } catch (error) {
      // The AMQP answer to acking a tag never delivered (PRECONDITION_FAILED), as a 400.
      if (error instanceof RangeError) throw badRequest(`up_to: unknown delivery tag ${id.n}`)
      throw error
    }
    return c.json({ acked })
  })
}

/** The open lease `id` if it belongs to this user, vhost and queue; others' streams stay invisible. */
function findLease(c: Context<HttpEnv>, ctx: MessagingContext, id: string): QueueLease | undefined {
  const lease = ctx.leases.get(id)
  if (lease === undefined || lease.isClosed) return undefined
  const conn = lease.connection
  const ok = conn.user.name === c.var.user.name && conn.vhost === c.req.param('vhost') && lease.queue === c.req.param('queue')
  return ok ? lease : undefined
}
