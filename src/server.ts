/**
 * Wires one broker to its protocol listeners. With main.ts, the only module allowed to import
 * both the core and the adapters.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { handleAmqpSocket, listenAmqp } from '../protocols/amqp/mod.ts'
import { listenHttp, type HttpListener } from '../protocols/http/mod.ts'
import { createMqttAdapter } from '../protocols/mqtt/mod.ts'
import { openBroker, type WarrenBroker } from './broker.ts'
import type { Config } from './config.ts'
import type { Listener } from './runtime/socket.ts'

/** What the broker tells forced-closed clients, in RabbitMQ's words (AMQP adds CONNECTION_FORCED). */
const SHUTDOWN_REASON = "broker forced connection closure with reason 'shutdown'"
/** What `listeners` holds, in order, as RabbitMQ names the protocols (management health checks). */
const LISTENER_PROTOCOLS = ['amqp', 'mqtt', 'http'] as const

export interface RunningServer {
  broker: WarrenBroker
  /** Actual bound ports. */
  ports: { amqp: number; mqtt: number; http: number }
  /**
   * Forced-closes every connection (AMQP clients get connection.close 320, MQTT 5 clients
   * DISCONNECT 0x8B), closes listeners, flushes.
   */
  stop(): Promise<void>
}

/** Hooks that are not configuration (tests). */
export interface ServerOptions {
  /** Replaces the statfs reading of the data directory's free bytes (the disk alarm's source). */
  diskFree?: () => number | Promise<number>
  /** Time between disk free space checks, ms (default 2000). */
  diskCheckIntervalMs?: number
}

/** Creates the data dir if missing, starts the broker and binds every listener. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true })
  // Durable state is restored here, before any listener accepts a client.
  const broker = await openBroker({
    dataDir: config.dataDir,
    storeMemoryLimit: config.storeMemoryLimit,
    transientMemoryLimit: config.transientMemoryLimit,
    maxMessageSize: config.maxMessageSize,
    memoryHighWatermark: config.memoryHighWatermark,
    diskFreeLimit: config.diskFreeLimit,
    diskFree: options.diskFree,
    diskCheckIntervalMs: options.diskCheckIntervalMs,
    maxConnections: config.maxConnections,
    defaultUser: config.defaultUser,
    loopbackUsers: config.loopbackUsers,
  })
  const mqtt = createMqttAdapter(broker, {
    maxPacketSize: config.mqttMaxPacketSize,
    defaultVhost: config.mqttDefaultVhost,
    exchange: config.mqttExchange,
    receiveMaximum: config.mqttReceiveMaximum,
    serverReceiveMaximum: config.mqttServerReceiveMaximum,
    maxSessionExpiry: config.mqttMaxSessionExpiry,
    sessionQueueLimit: config.mqttSessionQueueLimit,
    topicDotEscaping: config.mqttTopicDotEscaping,
    allowAnonymous: config.mqttAllowAnonymous,
    anonymousUser: config.defaultUser,
    maxKeepAlive: config.mqttMaxKeepAlive,
    topicAliasMaximum: config.mqttTopicAliasMaximum,
  })
  const amqpOptions = { frameMax: config.frameMax, channelMax: config.channelMax, heartbeat: config.heartbeat }
  const listeners: Listener[] = []
  let http: HttpListener | undefined
  try {
    listeners.push(await listenAmqp(broker, { host: config.host, port: config.amqpPort, ...amqpOptions }))
    listeners.push(await mqtt.listen({ host: config.host, port: config.mqttPort }))
    http = await listenHttp(
      {
        broker,
        // The adapters never import each other: WebSocket transports reach them through here.
        mqttSocket: mqtt.handleSocket,
        amqpSocket: (socket) => handleAmqpSocket(broker, socket, amqpOptions),
        corsOrigins: config.httpCorsOrigins,
        maxBodySize: config.httpMaxBodySize,
        tokenTtlSeconds: config.httpTokenTtl,
        listeners: () => listeners.map((l, i) => ({ protocol: LISTENER_PROTOCOLS[i]!, host: l.host, port: l.port })),
        messaging: {
          // HTTP topics meet MQTT topics on the same exchange.
          topicExchange: config.mqttExchange,
          heartbeatMs: config.sseHeartbeatMs,
          retryMs: config.sseRetryMs,
          prefetch: config.ssePrefetch,
          liveQueueLimit: config.sseLiveQueueLimit,
          resumeTimeoutMs: config.sseResumeTimeoutMs,
          // MQTT-style HTTP topics map as MQTT topics do.
          topicDotEscaping: config.mqttTopicDotEscaping,
        },
      },
      {
        host: config.host,
        port: config.httpPort,
        // One MQTT packet, or one batch of AMQP frames carrying the largest message.
        maxWebSocketMessage: Math.max(config.mqttMaxPacketSize, config.maxMessageSize) + 1024 * 1024,
      },
    )
    listeners.push(http)
  } catch (error) {
    // A port already in use must not leave a half-started broker behind.
    await Promise.all(listeners.map((l) => l.close()))
    mqtt.stop()
    await broker.shutdown(SHUTDOWN_REASON)
    throw error
  }
  const [amqp, mqttListener] = listeners as [Listener, Listener]
  const httpListener = http

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    // Stop accepting first so no client slips in while the others are being closed.
    await Promise.all(listeners.map((l) => l.close()))
    mqtt.stop()
    await broker.shutdown(SHUTDOWN_REASON)
    // HTTP streams whose handlers did not end on shutdown must not outlive the broker.
    httpListener.closeConnections()
  }
  return {
    broker,
    ports: { amqp: amqp.port, mqtt: mqttListener.port, http: httpListener.port },
    stop: () => (stopping ??= stop()),
  }
}
