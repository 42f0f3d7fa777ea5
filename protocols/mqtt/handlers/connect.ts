/**
 * CONNECT: checks, login (RabbitMQ's "vhost:username" form), client id (assigned when empty),
 * takeover of a live session with the same id, clean start or resume, CONNACK.
 *
 * @module
 */
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet'
import type { AuthenticatedUser, Connection } from '../../../src/api.ts'
import { log } from '../../../src/log.ts'
import type { MqttConnection } from '../connection.ts'
import { bodyOffset } from '../packet_reader.ts'
import { connackV3, connectRefusal, logFault, RC } from '../reason_codes.ts'
import { RETAINED_NAMESPACE } from '../retained.ts'
import { MqttSession } from '../session.ts'
import { assignClientId, SESSIONS_NAMESPACE, sessionKey } from '../session_registry.ts'
import { sessionQueueName } from '../subscriptions.ts'
import { isWellFormedUtf8, topicNameProblem } from '../topic.ts'
import { type Will, willFromConnect } from '../will.ts'

/** MQTT 5 Maximum Packet Size can say at most this (a four-byte Remaining Length + header). */
const PROTOCOL_MAX_PACKET = 268435460

/** RabbitMQ's rabbit_mqtt_processor:get_vhost_username: "vhost:user" picks the vhost. */
export function splitVhost(username: string, defaultVhost: string): { vhost: string; username: string } {
  const colon = username.indexOf(':')
  if (colon <= 0) return { vhost: defaultVhost, username }
  return { vhost: username.slice(0, colon), username: username.slice(colon + 1) }
}

/**
 * Walks the raw CONNECT and checks its UTF-8 strings (client id, will topic, user name) are
 * well-formed [MQTT-1.5.4-1]; mqtt-packet decodes leniently. Only called when a decoded string
 * shows a replacement character.
 */
function connectStringsWellFormed(raw: Uint8Array, v5: boolean, will: boolean, username: boolean): boolean {
  let pos = bodyOffset(raw)
  const u16 = (): number => (pos + 1 < raw.length ? (raw[pos]! << 8) | raw[pos + 1]! : 0)
  const skipProperties = (): void => {
    let length = 0
    let multiplier = 1
    // A Variable Byte Integer has at most four bytes.
    for (let i = 0; i < 4 && pos < raw.length; i++) {
      const b = raw[pos++]!
      length += (b & 0x7f) * multiplier
      multiplier *= 128
      if ((b & 0x80) === 0) break
    }
    pos += length
  }
  const string = (): boolean => {
    const length = u16()
    const ok = isWellFormedUtf8(raw, pos + 2, Math.min(raw.length, pos + 2 + length))
    pos += 2 + length
    return ok
  }
  pos += 2 + u16() + 4 // protocol name, level, flags, keep alive
  if (v5) skipProperties()
  if (!string()) return false
  if (will) {
    if (v5) skipProperties()
    if (!string()) return false
    pos += 2 + u16()
  }
  return !username || string()
}

/** Refuses the connection: CONNACK with `reason` (v3: its return code), then close, no will. */
function refuse(conn: MqttConnection, reason: number): void {
  if (conn.version === 5) conn.writer.encode({ cmd: 'connack', reasonCode: reason, sessionPresent: false })
  else conn.writer.encode({ cmd: 'connack', returnCode: connackV3(reason), sessionPresent: false })
  conn.close(false)
}

export function handleConnect(conn: MqttConnection, packet: IConnectPacket): void {
  const ctx = conn.ctx
  const opts = ctx.opts
  const version = (packet.protocolVersion ?? 4) as 3 | 4 | 5
  conn.version = version
  conn.writer.protocolVersion = version
  const props = packet.properties ?? {}

  if (version < 5 && packet.password !== undefined && packet.username === undefined) {
    // [MQTT-3.1.2-22]: a password needs a user name before v5.
    logFault('password-without-username', 'MQTT CONNECT with a password but no user name', conn.logContext)
    return conn.close(false)
  }
  const suspicious = (s: string | undefined): boolean => s !== undefined && s.includes('\uFFFD')
  if (
    (suspicious(packet.clientId) || suspicious(packet.will?.topic) || suspicious(packet.username)) &&
    !connectStringsWellFormed(conn.current, version === 5, packet.will !== undefined, packet.username !== undefined)
  ) {
    logFault('connect-utf8', 'MQTT CONNECT with ill-formed UTF-8', conn.logContext)
    return version === 5 ? refuse(conn, RC.MALFORMED_PACKET) : conn.close(false)
  }
  if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
    // Receive Maximum and Maximum Packet Size 0 are protocol errors (MQTT 5 3.1.2.11.3, 3.1.2.11.4).
    return refuse(conn, RC.PROTOCOL_ERROR)
  }
  if (props.authenticationMethod !== undefined) {
    // Enhanced authentication (AUTH exchanges) is not offered.
    return refuse(conn, RC.BAD_AUTHENTICATION_METHOD)
  }
  let will
  if (packet.will !== undefined) {
    if ((packet.will.qos ?? 0) > 2) {
      logFault('will-qos', 'MQTT CONNECT with Will QoS 3', conn.logContext)
      return version === 5 ? refuse(conn, RC.MALFORMED_PACKET) : conn.close(false)
    }
    if (topicNameProblem(packet.will.topic) !== undefined) {
      logFault('will-topic', `MQTT CONNECT with an invalid will topic "${packet.will.topic}"`, conn.logContext)
      return version === 5 ? refuse(conn, RC.TOPIC_NAME_INVALID) : conn.close(false)
    }
    will = willFromConnect(packet.will)
  }

  // Client identifier [MQTT-3.1.3-6, -7, -8].
  let clientId = packet.clientId
  let assigned = false
  if (clientId === '') {
    if (version === 3 || (version === 4 && !packet.clean)) return refuse(conn, RC.CLIENT_ID_NOT_VALID)
    clientId = assignClientId()
    assigned = true
  }

  // Login. No user name is an anonymous login; v5 allows a password without one (MQTT 5.0
  // 3.1.2.9, e.g. a token for enhanced authentication we do not offer): it is ignored then.
  let username = packet.username
  let password = packet.password === undefined ? undefined : packet.password.toString('utf8')
  if (username === undefined) {
    if (!opts.allowAnonymous) return refuse(conn, RC.NOT_AUTHORIZED)
    username = opts.anonymousUser.username
    password = opts.anonymousUser.password
  }
  const login = splitVhost(username, opts.defaultVhost)
  const remoteAddress = conn.socket.remoteAddress
  let user: AuthenticatedUser
  let core: Connection
  try {
    user = ctx.broker.authenticate({ username: login.username, password: password ?? '', remoteAddress })
    core = ctx.broker.connect({
      protocol: 'mqtt',
      vhost: login.vhost,
      user,
      remoteAddress,
      remotePort: conn.socket.remotePort,
      clientName: clientId,
    })
  } catch (error) {
    return refuse(conn, connectRefusal(error, { ...conn.logContext, user: login.username, vhost: login.vhost }))
  }
  try {
    establish(conn, packet, core, { clientId, assigned, user, vhost: login.vhost, will })
  } catch (error) {
    // Whatever failed, the core connection must not outlive this one.
    if (conn.session === undefined) core.close()
    throw error
  }
}

/** After login: session takeover or resume, CONNACK, subscriptions back. */
function establish(
  conn: MqttConnection,
  packet: IConnectPacket,
  core: Connection,
  who: { clientId: string; assigned: boolean; user: AuthenticatedUser; vhost: string; will: Will | undefined },
): void {
  const ctx = conn.ctx
  const opts = ctx.opts
  const version = conn.version
  const props = packet.properties ?? {}
  const { clientId, assigned, user, vhost, will } = who
  ctx.retained.attach(core.keyValue(RETAINED_NAMESPACE))
  ctx.registry.attach(core.keyValue(SESSIONS_NAMESPACE))

  // Session expiry: v5 asks; v3 clean session 0 means "until the connection ends", else ours.
  const requested = version === 5 ? (props.sessionExpiryInterval ?? 0) : packet.clean ? 0 : opts.maxSessionExpiry
  const expiry = Math.min(requested, opts.maxSessionExpiry)

  // Keep alive: ours may be shorter (v5 clients are told through Server Keep Alive). A client
  // that turned keep alive off (0) keeps it off: it may not ping at all (mqtt.js ignores Server
  // Keep Alive then), so imposing one would cut it off after 1.5 x the maximum of silence.
  let keepAlive = packet.keepalive ?? 0
  let serverKeepAlive: number | undefined
  if (version === 5 && opts.maxKeepAlive > 0 && keepAlive > opts.maxKeepAlive) {
    keepAlive = opts.maxKeepAlive
    serverKeepAlive = keepAlive
  }

  const key = sessionKey(vhost, clientId)
  const session = new MqttSession(conn, ctx, core, {
    clientId,
    vhost,
    user,
    expiry,
    will,
    window: props.receiveMaximum ?? opts.receiveMaximum,
    topicAliasMaximum: version === 5 ? (props.topicAliasMaximum ?? 0) : 0,
    key,
  })
  if (version === 5 && props.maximumPacketSize !== undefined) conn.writer.maxPacketSize = props.maximumPacketSize

  // Takeover [MQTT-3.1.4-3]; a will still waiting for its delay is dropped or sent [MQTT-3.1.3-9].
  ctx.registry.claim(key, session)?.takeOver(packet.clean === true)
  if (packet.clean) ctx.wills.fire(key)
  else ctx.wills.cancel(key)

  // Clean start discards the old session [MQTT-3.1.2-4]; else resume it [MQTT-3.1.2-5].
  const { record, existed } = ctx.registry.load(key, Date.now())
  const resume = !packet.clean && record !== undefined
  if (!resume && existed) {
    // The old session ends: its record, its queues, and shared queues it was the last member of.
    const emptied = ctx.registry.delete(key)
    try {
      const s = session.coreSession
      s.deleteQueue(sessionQueueName(clientId, 0))
      s.deleteQueue(sessionQueueName(clientId, 1))
    } catch (error) {
      log.warn('MQTT could not delete an old session queue', { ...conn.logContext, error: String(error) })
    }
    if (emptied.length > 0) session.subscriptions.deleteSharedQueues(emptied)
  }

  conn.established(session, keepAlive)
  const connack: IConnackPacket = { cmd: 'connack', sessionPresent: resume }
  if (version === 5) {
    connack.reasonCode = 0
    const p: NonNullable<IConnackPacket['properties']> = {}
    if (expiry !== requested) p.sessionExpiryInterval = expiry
    if (opts.maxPacketSize < PROTOCOL_MAX_PACKET) p.maximumPacketSize = opts.maxPacketSize
    // Absent means 65535 (MQTT 5.0 3.2.2.3.3).
    if (opts.serverReceiveMaximum !== undefined && opts.serverReceiveMaximum < 65535) p.receiveMaximum = opts.serverReceiveMaximum
    if (opts.topicAliasMaximum > 0) p.topicAliasMaximum = opts.topicAliasMaximum
    if (assigned) p.assignedClientIdentifier = clientId
    if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive
    if (props.requestResponseInformation === true) p.responseInformation = `response/${clientId}`
    connack.properties = p
  } else {
    connack.returnCode = 0
  }
  conn.writer.encode(connack)
  session.start(resume ? record : undefined)
  log.debug('MQTT connection established', conn.logContext)
}
