/**
 * channel.flow (the peer pauses or resumes deliveries) and access.request (a 0-8 leftover that
 * RabbitMQ answers with ticket 1).
 *
 * @module
 */
import type { MethodArgs } from '../codec/methods.ts'
import type { AmqpChannel } from '../channel.ts'

export function channelFlow(ch: AmqpChannel, args: MethodArgs['channel.flow']): void {
  ch.session.setFlow(args.active)
  ch.send('channel.flow-ok', { active: args.active })
}

export function accessRequest(ch: AmqpChannel): void {
  ch.send('access.request-ok', { ticket: 1 })
}
