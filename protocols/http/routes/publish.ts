/**
 * HTTP publish, two forms:
 * - `POST /api/exchanges/{vhost}/{exchange}/publish` with RabbitMQ's body
 *   `{properties, routing_key, payload, payload_encoding}`, answering `{"routed": bool}` as
 *   rabbit_mgmt_wm_exchange_publish does (the exchange "amq.default" is the default exchange);
 * - `POST /api/topics/{vhost}/{topic...}`: the raw request body published to the topic exchange
 *   (amq.topic) under the MQTT topic of the path ("a/b" routes as "a.b", mapped as the MQTT
 *   adapter maps topics: topic_filter.ts), its Content-Type kept.
 *
 * Each request publishes through a short-lived core connection with a publisher confirm, so the
 * answer comes once every queue has taken the message (persisted, for durable ones), as
 * RabbitMQ's publish endpoint waits for its confirm.
 *
 * @module
 */
import type { Context, Hono } from 'hono'
import { z } from 'zod'
import { BrokerError, type Message, type MessageProperties, type PublishResult } from '../../../src/api.ts'
import type { HttpEnv } from '../app.ts'
import { requireUser } from '../auth.ts'
import { badRequest, HttpError } from '../errors.ts'
import { parseJson, readBody } from '../schemas.ts'
import { decodePayload, propertiesFromJson } from './message_json.ts'
import { connectFor, type MessagingContext } from './messaging.ts'
import { topicNameProblem } from './topic_filter.ts'
import { fitsShortString, MAX_SHORTSTR_BYTES, tableProblem } from '../field_limits.ts'

/** An AMQP short string: at most 255 bytes of UTF-8 (not characters). */
const shortString = z.string().refine(fitsShortString, { message: `must be at most ${MAX_SHORTSTR_BYTES} bytes of UTF-8` })
const octet = z.number().int().min(0).max(255)

/** rabbit_mgmt_format:to_basic_properties/1: integers where AMQP has them, strings elsewhere. */
const propertiesSchema = z.object({
  content_type: shortString.optional(),
  content_encoding: shortString.optional(),
  // Checked by tableProblem, not z.json(): a hostile document nested thousands deep must not
  // recurse through the validator.
  headers: z
    .record(z.string(), z.unknown())
    .superRefine((t, ctx) => {
      const problem = tableProblem(t)
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
    })
    .transform((t) => t as Record<string, z.core.util.JSONType>)
    .optional(),
  delivery_mode: octet.optional(),
  priority: octet.optional(),
  correlation_id: shortString.optional(),
  reply_to: shortString.optional(),
  expiration: shortString.optional(),
  message_id: shortString.optional(),
  timestamp: z.number().int().min(0).optional(),
  type: shortString.optional(),
  user_id: shortString.optional(),
  app_id: shortString.optional(),
  cluster_id: shortString.optional(),
})

/** RabbitMQ requires all four keys; Warren defaults `properties` to {} and the encoding to "string". */
const publishBody = z.object({
  properties: propertiesSchema.default({}),
  routing_key: shortString,
  payload: z.string(),
  payload_encoding: z.enum(['string', 'base64']).default('string'),
})

/** RabbitMQ's reason when a queue refused the message (overflow reject-publish). */
const REJECTED_REASON = 'Unable to publish message. Check queue limits.'

export function publishRoutes(app: Hono<HttpEnv>, ctx: MessagingContext): void {
  app.post('/api/exchanges/:vhost/:exchange/publish', requireUser(), async (c) => {
    const body = await parseJson(c, publishBody)
    const payload = decodePayload(body.payload, body.payload_encoding)
    if (payload === undefined) throw badRequest('payload: not valid base64')
    const exchange = c.req.param('exchange')
    const routed = await publishOne(
      c,
      c.req.param('vhost'),
      {
        exchange: exchange === 'amq.default' ? '' : exchange,
        routingKey: body.routing_key,
        properties: propertiesFromJson(body.properties),
        body: payload,
      },
      true,
    )
    return c.json({ routed })
  })

  app.post('/api/topics/:vhost/:topic{.+}', requireUser(), async (c) => {
    const topic = c.req.param('topic')
    const problem = topicNameProblem(topic)
    if (problem !== undefined) throw badRequest(`topic: ${problem}`)
    const properties: MessageProperties = {}
    const contentType = c.req.header('content-type')
    if (contentType !== undefined && !fitsShortString(contentType)) throw badRequest(`Content-Type: longer than ${MAX_SHORTSTR_BYTES} bytes`)
    if (contentType !== undefined) properties.contentType = contentType
    const routed = await publishOne(c, c.req.param('vhost'), {
      exchange: ctx.opts.topicExchange,
      routingKey: ctx.topics.toRoutingKey(topic),
      properties,
      body: new Uint8Array(await readBody(c, () => c.req.arrayBuffer())),
    })
    return c.json({ routed })
  })
}

/**
 * The channel error a publish raised, as rabbit_mgmt_util:with_channel answers it: 400
 * bad_request whose reason is the AMQP close, "404 NOT_FOUND - no exchange 'x' in vhost '/'".
 */
function channelError(error: BrokerError): HttpError {
  const [code, name] = AMQP_REPLY[error.code]
  return badRequest(`${code} ${name} - ${error.message}`)
}

/** The AMQP reply code and name of each core error code (RabbitMQ's with_channel shows them). */
const AMQP_REPLY: Readonly<Record<BrokerError['code'], readonly [number, string]>> = {
  'not-found': [404, 'NOT_FOUND'],
  'access-refused': [403, 'ACCESS_REFUSED'],
  'resource-locked': [405, 'RESOURCE_LOCKED'],
  'precondition-failed': [406, 'PRECONDITION_FAILED'],
  'invalid-argument': [406, 'PRECONDITION_FAILED'],
  'resource-error': [506, 'RESOURCE_ERROR'],
  'not-allowed': [530, 'NOT_ALLOWED'],
  'command-invalid': [503, 'COMMAND_INVALID'],
  'not-implemented': [540, 'NOT_IMPLEMENTED'],
  'connection-forced': [320, 'CONNECTION_FORCED'],
  internal: [541, 'INTERNAL_ERROR'],
}

/**
 * Publishes with a confirm; true when some queue took the message. `asChannel`: errors of the
 * publish itself answer as RabbitMQ's exchange publish endpoint does (see channelError).
 */
async function publishOne(c: Context<HttpEnv>, vhost: string, message: Message, asChannel = false): Promise<boolean> {
  const broker = c.var.deps.broker
  // An AMQP publisher would be blocked by the resource alarm; an HTTP request is told so.
  if (broker.blocked) {
    const resource = broker.blockedReason
    const why = resource === undefined ? '' : ` (low on ${resource})`
    throw new HttpError(503, 'service_unavailable', `Publishing is blocked by a resource alarm${why}`)
  }
  const connection = connectFor(c, vhost, 'HTTP publish')
  try {
    let confirm!: (rejected: boolean) => void
    let fail!: (error: Error) => void
    const confirmed = new Promise<boolean>((resolve, reject) => {
      confirm = resolve
      fail = reject
    })
    const session = connection.openSession({
      deliver() {},
      flush() {},
      settled: () => confirm(false),
      rejected: () => confirm(true),
      consumerCancelled() {},
      closed: (error) => fail(error),
    })
    connection.onForcedClose((error) => fail(error))
    let result: PublishResult
    try {
      result = session.publish(message, { confirmId: 1 })
    } catch (error) {
      if (asChannel && error instanceof BrokerError && error.code !== 'connection-forced') throw channelError(error)
      throw error
    }
    if (await confirmed) throw badRequest(REJECTED_REASON)
    return result === 'routed'
  } finally {
    connection.close()
  }
}
