/**
 * zod schemas for management request bodies and path names. Like RabbitMQ, unknown body fields
 * are ignored (tools send extra ones, such as "vhost" or "name") and booleans may come as "true"
 * or "false" strings (rabbit_mgmt_util:parse_bool/1); absent flags default to false, as the
 * AMQP method records do.
 *
 * @module
 */
import { z } from 'zod'
import type { Table } from '../../../../src/api.ts'
import { tableProblem } from '../../field_limits.ts'

/** A boolean or its string form. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')])

/** Arguments and headers: any JSON object (the core validates the x- arguments it knows). */
const table = z
  .record(z.string(), z.unknown())
  .superRefine((t, ctx) => {
    const problem = tableProblem(t)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  })
  .transform((t) => t as Table)

/** An integer or its string form (rabbit_mgmt_util:parse_int/1). */
const int = z.union([z.number(), z.string().regex(/^-?\d+$/, 'expected an integer').transform(Number)]).pipe(z.number().int())

export const queueBody = z
  .object({
    durable: bool.default(false),
    auto_delete: bool.default(false),
    arguments: table.default({}),
    node: z.string().optional(),
  })
  .loose()

export const exchangeBody = z
  .object({
    type: z.string().min(1).default('direct'),
    durable: bool.default(false),
    auto_delete: bool.default(false),
    internal: bool.default(false),
    arguments: table.default({}),
  })
  .loose()

export const bindingBody = z
  .object({
    routing_key: z.string().default(''),
    arguments: table.default({}),
  })
  .loose()

export const getBody = z
  .object({
    // Bounded: every message taken is held in the answer.
    count: int.pipe(z.number().min(0).max(100_000)),
    ackmode: z.enum(['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false']),
    encoding: z.enum(['auto', 'base64']),
    truncate: int.pipe(z.number().min(0)).optional(),
  })
  .loose()

const tags = z.union([z.string(), z.array(z.string())])

export const vhostBody = z
  .object({
    description: z.string().optional(),
    tags: tags.optional(),
    default_queue_type: z.enum(['classic', 'quorum', 'stream']).optional(),
    tracing: bool.optional(),
  })
  .loose()

export const userBody = z
  .object({
    password: z.string().optional(),
    password_hash: z.string().optional(),
    hashing_algorithm: z.string().optional(),
    tags: tags.default([]),
  })
  .loose()

const regex = z.string().refine((s) => {
  try {
    new RegExp(s)
    return true
  } catch {
    return false
  }
}, 'invalid regular expression')

export const permissionBody = z
  .object({
    configure: regex,
    write: regex,
    read: regex,
  })
  .loose()

const name = z.string().min(1).max(255)

/** PUT /api/topic-permissions/{vhost}/{user}: all three keys are required, as in RabbitMQ. */
export const topicPermissionBody = z.object({ exchange: z.string().max(255), write: regex, read: regex }).loose()

/**
 * Definitions as RabbitMQ exports them; each category optional. Categories Warren does not
 * implement are accepted as any array and ignored.
 */
export const definitionsBody = z
  .object({
    users: z
      .array(
        z
          .object({ name, password_hash: z.string(), hashing_algorithm: z.string().optional(), tags: tags.default([]) })
          .loose(),
      )
      .optional(),
    vhosts: z
      .array(
        z
          .object({
            name,
            description: z.string().optional(),
            tags: tags.optional(),
            default_queue_type: z.string().optional(),
            metadata: z
              .object({ description: z.string().optional(), tags: z.array(z.string()).optional(), default_queue_type: z.string().optional() })
              .loose()
              .optional(),
          })
          .loose(),
      )
      .optional(),
    permissions: z.array(z.object({ user: name, vhost: name, configure: regex, write: regex, read: regex }).loose()).optional(),
    topic_permissions: z.array(z.object({ user: name, vhost: name, exchange: z.string().max(255), write: regex, read: regex }).loose()).optional(),
    // The broker checks pattern, definition, priority and apply-to, with RabbitMQ's texts.
    policies: z.array(z.object({ vhost: name, name }).loose()).optional(),
    queues: z
      .array(
        z
          .object({ name, vhost: name, durable: bool.default(false), auto_delete: bool.default(false), arguments: table.default({}) })
          .loose(),
      )
      .optional(),
    exchanges: z
      .array(
        z
          .object({
            name,
            vhost: name,
            type: z.string().min(1),
            durable: bool.default(false),
            auto_delete: bool.default(false),
            internal: bool.default(false),
            arguments: table.default({}),
          })
          .loose(),
      )
      .optional(),
    bindings: z
      .array(
        z
          .object({
            source: z.string(),
            vhost: name,
            destination: name,
            destination_type: z.enum(['queue', 'exchange']),
            routing_key: z.string().default(''),
            arguments: table.default({}),
          })
          .loose(),
      )
      .optional(),
  })
  .loose()

/** POST /api/users/bulk-delete. */
export const bulkDeleteBody = z.object({ users: z.array(name) }).loose()
