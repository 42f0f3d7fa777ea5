import { describe, expect, test } from 'bun:test'
import type { FrameWriter } from './codec/frame_writer.ts'
import { PublisherConfirms } from './confirms.ts'

/** Records writeMethod calls as "ack 3 multi" / "nack 4". */
function recorder(): { writer: FrameWriter; frames: string[] } {
  const frames: string[] = []
  const writer = {
    writeMethod(_channel: number, name: string, args: { deliveryTag: number; multiple: boolean }) {
      frames.push(`${name === 'basic.ack' ? 'ack' : 'nack'} ${args.deliveryTag}${args.multiple ? ' multi' : ''}`)
    },
  } as unknown as FrameWriter
  return { writer, frames }
}

describe('PublisherConfirms', () => {
  test('sequence numbers start at 1', () => {
    const confirms = new PublisherConfirms()
    expect([confirms.next(), confirms.next(), confirms.next()]).toEqual([1, 2, 3])
  })

  test('a contiguous run from the oldest unconfirmed id becomes one multiple ack', () => {
    const { writer, frames } = recorder()
    const confirms = new PublisherConfirms()
    for (let i = 0; i < 5; i++) confirms.next()
    confirms.write(writer, 1, [1, 2, 3], false)
    expect(frames).toEqual(['ack 3 multi'])
    expect(confirms.unconfirmedCount).toBe(2)
  })

  test('ids above a hole are acked one by one; the hole closing covers them with multiple', () => {
    const { writer, frames } = recorder()
    const confirms = new PublisherConfirms()
    for (let i = 0; i < 5; i++) confirms.next()
    confirms.write(writer, 1, [2, 3], false)
    expect(frames).toEqual(['ack 2', 'ack 3'])
    confirms.write(writer, 1, [1, 4], false)
    expect(frames).toEqual(['ack 2', 'ack 3', 'ack 4 multi'])
  })

  test('a single id is never sent with multiple', () => {
    const { writer, frames } = recorder()
    const confirms = new PublisherConfirms()
    confirms.next()
    confirms.next()
    confirms.write(writer, 1, [1], true)
    expect(frames).toEqual(['nack 1'])
  })
})
