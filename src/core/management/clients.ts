/**
 * Summaries of what clients hold open: connections, their sessions (AMQP channels, MQTT
 * connections, SSE streams) and consumers.
 *
 * @module
 */
import type { ConnectionSummary, ConsumerSummary, SessionSummary } from '../../api.ts'
import type { CoreConnection } from '../connection.ts'
import type { CoreSession } from '../session.ts'

/** IPv6 addresses get brackets so "host:port" stays readable. */
function hostPort(address: string, port: number | undefined): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address
  return `${host}:${port ?? 0}`
}

/**
 * RabbitMQ names a connection "peer:port -> local:port". Without the local end the id keeps the
 * name unique.
 */
export function connectionName(c: CoreConnection): string {
  const info = c.info
  const peer = hostPort(info.remoteAddress, info.remotePort)
  return info.localAddress === undefined ? `${peer} -> #${c.id}` : `${peer} -> ${hostPort(info.localAddress, info.localPort)}`
}

export function connectionSummary(c: CoreConnection): ConnectionSummary {
  const info = c.info
  return {
    id: c.id,
    name: connectionName(c),
    protocol: info.protocol,
    vhost: c.vhost,
    user: c.user.name,
    remoteAddress: info.remoteAddress,
    remotePort: info.remotePort,
    localAddress: info.localAddress,
    localPort: info.localPort,
    maxSessions: info.maxSessions ?? 0,
    maxFrameSize: info.maxFrameSize ?? 0,
    heartbeatSeconds: info.heartbeatSeconds ?? 0,
    clientName: info.clientName,
    clientProperties: info.clientProperties,
    connectedAt: c.connectedAt,
    sessions: c.sessions.size,
  }
}

export function sessionSummary(s: CoreSession, connectionName: string): SessionSummary {
  const c = s.connection
  return {
    connectionId: c.id,
    connectionName,
    number: s.number,
    vhost: c.vhost,
    user: c.user.name,
    consumers: s.consumers.size,
    unacked: s.unackedCount,
    prefetch: s.consumerPrefetch,
    globalPrefetch: s.globalPrefetch,
  }
}

/** Appends the consumers of every session of `c`. */
export function connectionConsumers(c: CoreConnection, out: ConsumerSummary[]): void {
  const name = connectionName(c)
  for (const s of c.sessions) {
    for (const consumer of s.consumers.values()) {
      const list = consumer.queue.consumers
      const active = list.active
      out.push({
        tag: consumer.tag,
        vhost: c.vhost,
        queue: consumer.queue.name,
        connectionId: c.id,
        connectionName: name,
        sessionNumber: s.number,
        user: c.user.name,
        noAck: consumer.noAck,
        exclusive: consumer.exclusive,
        prefetch: consumer.prefetch,
        priority: consumer.priority,
        active: active === undefined || active === consumer,
      })
    }
  }
}
