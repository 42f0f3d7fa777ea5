/**
 * `GET /api/sse/{vhost}`: live traffic of an exchange as Server-Sent Events.
 *
 * Query: `filter` (MQTT-style, repeatable: `sensors/+/temp`), `binding_key` (AMQP pattern,
 * repeatable: `sensors.*.temp`), `exchange` (default amq.topic), `payload_encoding` (`auto`:
 * UTF-8 text when the body is UTF-8, else base64; or `base64` always). Neither filter nor
 * binding key means everything (`#`).
 *
 * The response opens with an `event: stream` naming the subscription queue, then one unnamed
 * event per message: `id` counts deliveries, `data` is JSON
 * `{exchange, routing_key, topic, properties, payload, payload_encoding, redelivered}`.
 * Live traffic is not replayed: a reconnect subscribes afresh and Last-Event-ID is ignored.
 *
 * @module
 */
import type { Hono } from 'hono'
import { z } from 'zod'
import type { HttpEnv } from '../app.ts'
import { requireUser } from '../auth.ts'
import { badRequest } from '../errors.ts'
import { validate } from '../schemas.ts'
import { LiveSubscription } from './live_subscription.ts'
import { connectFor, type MessagingContext } from './messaging.ts'
import { SseStream, sseResponse } from './sse_stream.ts'
import { filterToPattern } from './topic_filter.ts'

/** Most filters and binding keys one stream may combine. */
const MAX_BINDINGS = 64
const key = z.string().max(255)

const liveQuery = z.object({
  filter: z.array(key.min(1)).max(MAX_BINDINGS),
  binding_key: z.array(key).max(MAX_BINDINGS),
  exchange: key.optional(),
  payload_encoding: z.enum(['auto', 'base64']).default('auto'),
})

export function sseRoutes(app: Hono<HttpEnv>, ctx: MessagingContext): void {
  app.get('/api/sse/:vhost', requireUser(), (c) => {
    const query = validate(
      liveQuery,
      {
        filter: c.req.queries('filter') ?? [],
        binding_key: c.req.queries('binding_key') ?? [],
        exchange: c.req.query('exchange'),
        payload_encoding: c.req.query('payload_encoding'),
      },
      'query',
    )
    const bindingKeys = [...query.binding_key]
    for (const filter of query.filter) {
      const translated = filterToPattern(filter, ctx.topics)
      if ('problem' in translated) throw badRequest(`filter: ${translated.problem}`)
      bindingKeys.push(translated.pattern)
    }
    if (bindingKeys.length === 0) bindingKeys.push('#')

    // Everything that can fail does so before the response starts, so errors get a status.
    const subscription = new LiveSubscription(connectFor(c, c.req.param('vhost'), 'SSE subscription'), {
      exchange: query.exchange ?? ctx.opts.topicExchange,
      bindingKeys,
      queueLimit: ctx.opts.liveQueueLimit,
      payloadEncoding: query.payload_encoding,
      toTopic: ctx.topics.toTopic,
    })
    const stream = new SseStream({
      onWritable: (writable) => subscription.setWritable(writable),
      maxBatchEvents: ctx.opts.maxBatchEvents,
    })
    ctx.heartbeats.add(stream)
    void (async () => {
      try {
        subscription.attach(stream, ctx.opts.retryMs)
        await stream.done
      } catch (error) {
        console.error(error)
      } finally {
        ctx.heartbeats.delete(stream)
        subscription.close()
      }
    })()
    return sseResponse(c, stream)
  })
}
