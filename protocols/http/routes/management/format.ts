/**
 * Core summaries as RabbitMQ's management API JSON (rabbit_mgmt_format): snake_case fields,
 * counters with `<name>_details: {rate}`, and the fields Warren has no value for at their neutral
 * value, so dashboards and scripts find every field they read.
 *
 * @module
 */
import type {
  Activity,
  BindingSummary,
  ConnectionSummary,
  ConsumerSummary,
  ExchangeSummary,
  PermissionSummary,
  QueueLengths,
  QueueSummary,
  SessionSummary,
  UserSummary,
  VhostSummary,
} from '../../../../src/api.ts'
import { tableToJson } from '../message_json.ts'
import { propertiesKey } from './binding_key.ts'

export type Json = Record<string, unknown>

/** The RabbitMQ release whose management API these shapes follow (tools read it to pick features). */
export const RABBITMQ_API_VERSION = '3.13.7'

function details(rate: number): { rate: number } {
  return { rate: Math.round(rate * 10) / 10 }
}

/** message_stats: each counter with its rate; `deliver_get` sums the four ways out. */
export function messageStats(a: Activity, scope: 'broker' | 'queue'): Json {
  const t = a.totals
  const r = a.rates
  const out: Json = {
    publish: t.publish,
    publish_details: details(r.publish),
    deliver: t.deliver,
    deliver_details: details(r.deliver),
    deliver_no_ack: t.deliverNoAck,
    deliver_no_ack_details: details(r.deliverNoAck),
    get: t.get,
    get_details: details(r.get),
    get_no_ack: t.getNoAck,
    get_no_ack_details: details(r.getNoAck),
    get_empty: t.getEmpty,
    get_empty_details: details(r.getEmpty),
    deliver_get: t.deliver + t.deliverNoAck + t.get + t.getNoAck,
    deliver_get_details: details(r.deliver + r.deliverNoAck + r.get + r.getNoAck),
    ack: t.ack,
    ack_details: details(r.ack),
    redeliver: t.redeliver,
    redeliver_details: details(r.redeliver),
  }
  if (scope === 'broker') {
    out.confirm = t.confirm
    out.confirm_details = details(r.confirm)
    // Unroutable publishes are returned (mandatory) or dropped; `unroutable` counts both.
    out.drop_unroutable = Math.max(0, t.unroutable - t.returned)
    out.drop_unroutable_details = details(Math.max(0, r.unroutable - r.returned))
    out.return_unroutable = t.returned
    out.return_unroutable_details = details(r.returned)
  }
  return out
}

function hasActivity(a: Activity): boolean {
  const t = a.totals
  return t.publish + t.deliver + t.deliverNoAck + t.get + t.getNoAck + t.getEmpty + t.ack + t.redeliver > 0
}

/** messages, messages_ready, messages_unacknowledged with their details. */
export function lengthFields(l: QueueLengths): Json {
  return {
    messages: l.messages,
    messages_details: details(l.messagesRate),
    messages_ready: l.ready,
    messages_ready_details: details(l.readyRate),
    messages_unacknowledged: l.unacked,
    messages_unacknowledged_details: details(l.unackedRate),
  }
}

export function queueJson(q: QueueSummary, node: string, owner: ConnectionSummary | undefined): Json {
  const bytes = q.readyBytes + q.unackedBytes
  const out: Json = {
    name: q.name,
    vhost: q.vhost,
    type: q.type ?? 'classic',
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusive,
    arguments: tableToJson(q.args),
    node,
    state: 'running',
    consumers: q.consumers,
    consumer_capacity: q.consumers > 0 ? 1 : 0,
    consumer_utilisation: q.consumers > 0 ? 1 : 0,
    exclusive_consumer_tag: null,
    single_active_consumer_tag: q.activeConsumer ?? null,
    policy: q.policy ?? null,
    operator_policy: null,
    effective_policy_definition: q.effectivePolicyDefinition ?? {},
    ...lengthFields(q.lengths),
    messages_ram: q.lengths.messages,
    messages_ready_ram: q.lengths.ready,
    messages_unacknowledged_ram: q.lengths.unacked,
    messages_persistent: 0,
    messages_paged_out: 0,
    message_bytes: bytes,
    message_bytes_ready: q.readyBytes,
    message_bytes_unacknowledged: q.unackedBytes,
    message_bytes_ram: bytes,
    message_bytes_persistent: 0,
    message_bytes_paged_out: 0,
    head_message_timestamp: null,
  }
  // As RabbitMQ, a queue that never saw a message has no message_stats (and idle lists stay small).
  if (hasActivity(q.activity)) out.message_stats = messageStats(q.activity, 'queue')
  if (owner !== undefined) out.owner_pid_details = { name: owner.name, peer_host: owner.remoteAddress, peer_port: owner.remotePort ?? 0 }
  return out
}

export function exchangeJson(x: ExchangeSummary): Json {
  return {
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: tableToJson(x.args),
    user_who_performed_action: 'rmq-internal',
    policy: x.policy ?? null,
  }
}

export function vhostJson(v: VhostSummary, node: string): Json {
  const metadata = { description: v.description, tags: v.tags, default_queue_type: v.defaultQueueType }
  return {
    name: v.name,
    ...metadata,
    metadata,
    tracing: false,
    cluster_state: { [node]: 'running' },
    ...lengthFields(v.lengths),
    message_stats: messageStats(v.activity, 'broker'),
    recv_oct: 0,
    recv_oct_details: details(0),
    send_oct: 0,
    send_oct_details: details(0),
  }
}

export function bindingJson(b: BindingSummary): Json {
  const args = tableToJson(b.args ?? {})
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationKind,
    routing_key: b.routingKey,
    arguments: args,
    properties_key: propertiesKey(b.routingKey, args),
  }
}

const PROTOCOL_NAMES: Record<ConnectionSummary['protocol'], string> = {
  amqp: 'AMQP 0-9-1',
  mqtt: 'MQTT',
  http: 'HTTP',
}

export function connectionJson(c: ConnectionSummary, node: string): Json {
  return {
    name: c.name,
    node,
    vhost: c.vhost,
    user: c.user,
    user_who_performed_action: c.user,
    protocol: PROTOCOL_NAMES[c.protocol],
    type: 'network',
    state: 'running',
    // RabbitMQ's host and port are the server's end of the connection.
    host: c.localAddress ?? '',
    port: c.localPort ?? 0,
    peer_host: c.remoteAddress,
    peer_port: c.remotePort ?? 0,
    ssl: false,
    ssl_protocol: null,
    ssl_key_exchange: null,
    ssl_cipher: null,
    ssl_hash: null,
    peer_cert_subject: null,
    peer_cert_issuer: null,
    peer_cert_validity: null,
    channel_max: c.maxSessions,
    frame_max: c.maxFrameSize,
    timeout: c.heartbeatSeconds,
    auth_mechanism: 'PLAIN',
    channels: c.sessions,
    connected_at: c.connectedAt,
    client_properties: c.clientProperties === undefined ? {} : tableToJson(c.clientProperties),
    user_provided_name: c.clientName ?? null,
    // Warren does not count socket reads and writes per connection.
    recv_oct: 0,
    recv_oct_details: details(0),
    recv_cnt: 0,
    send_oct: 0,
    send_oct_details: details(0),
    send_cnt: 0,
    send_pend: 0,
  }
}

/** RabbitMQ names a channel after its connection and number: "127.0.0.1:5000 -> 127.0.0.1:5672 (1)". */
export function channelName(connectionName: string, number: number): string {
  return `${connectionName} (${number})`
}

export function channelJson(s: SessionSummary, node: string, conn: ConnectionSummary | undefined): Json {
  return {
    name: channelName(s.connectionName, s.number),
    number: s.number,
    node,
    vhost: s.vhost,
    user: s.user,
    user_who_performed_action: s.user,
    state: 'running',
    connection_details: {
      name: s.connectionName,
      peer_host: conn?.remoteAddress ?? '',
      peer_port: conn?.remotePort ?? 0,
    },
    consumer_count: s.consumers,
    messages_unacknowledged: s.unacked,
    messages_unconfirmed: 0,
    messages_uncommitted: 0,
    acks_uncommitted: 0,
    prefetch_count: s.prefetch,
    global_prefetch_count: s.globalPrefetch,
    confirm: false,
    transactional: false,
  }
}

export function consumerJson(c: ConsumerSummary, node: string, conn: ConnectionSummary | undefined): Json {
  return {
    consumer_tag: c.tag,
    queue: { name: c.queue, vhost: c.vhost },
    channel_details: {
      name: channelName(c.connectionName, c.sessionNumber),
      number: c.sessionNumber,
      connection_name: c.connectionName,
      node,
      peer_host: conn?.remoteAddress ?? '',
      peer_port: conn?.remotePort ?? 0,
      user: c.user,
    },
    ack_required: !c.noAck,
    exclusive: c.exclusive,
    prefetch_count: c.prefetch,
    arguments: c.priority === 0 ? {} : { 'x-priority': c.priority },
    active: c.active,
    activity_status: c.active ? 'up' : 'waiting',
  }
}

export function userJson(u: UserSummary): Json {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: u.tags, limits: {} }
}

export function permissionJson(p: PermissionSummary): Json {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read }
}
