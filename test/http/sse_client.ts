/**
 * A real EventSource (the `eventsource` package, the WhatWG algorithm browsers run) that records
 * what the broker sends: unnamed message events with their ids and JSON data, the opening
 * `stream` event, and errors (with the HTTP status when there is one). Basic auth goes in through
 * the package's `fetch` hook, as a page would use a cookie; `lastEventId` sets the header of the
 * first request only, as a browser restoring a stream after a page reload would send it.
 */
import { EventSource } from 'eventsource'
import { waitFor } from '../helpers/wait.ts'

export const GUEST_AUTH = `Basic ${btoa('guest:guest')}`

/** The JSON `data` of a message event. */
export interface EventData {
  exchange: string
  routing_key: string
  topic: string
  properties: Record<string, unknown>
  payload: string
  payload_encoding: 'string' | 'base64'
  redelivered: boolean
}

export interface ReceivedEvent {
  id: string
  data: EventData
}

export interface SseClientOptions {
  /** The Authorization header; null sends none. Default: guest's basic auth. */
  authorization?: string | null
  /** Last-Event-ID for the first request only (the EventSource sends its own afterwards). */
  lastEventId?: string
}

export class SseClient {
  readonly es: EventSource
  readonly messages: ReceivedEvent[] = []
  /** The data of every `event: stream` (one per response). */
  readonly streams: Record<string, unknown>[] = []
  readonly errors: { code: number | undefined; message: string | undefined }[] = []
  /** Last-Event-ID of every request the EventSource made, in order (undefined: none). */
  readonly requestLastEventIds: (string | undefined)[] = []

  constructor(url: string, opts: SseClientOptions = {}) {
    const authorization = opts.authorization === undefined ? GUEST_AUTH : opts.authorization
    let first = true
    this.es = new EventSource(url, {
      fetch: (input, init) => {
        const headers = new Headers(init?.headers as Record<string, string> | undefined)
        if (authorization !== null) headers.set('authorization', authorization)
        if (first && opts.lastEventId !== undefined) headers.set('last-event-id', opts.lastEventId)
        first = false
        this.requestLastEventIds.push(headers.get('last-event-id') ?? undefined)
        return fetch(input, { ...init, headers })
      },
    })
    this.es.addEventListener('message', (event) => {
      this.messages.push({ id: event.lastEventId, data: JSON.parse(event.data) as EventData })
    })
    this.es.addEventListener('stream', (event) => {
      this.streams.push(JSON.parse(event.data) as Record<string, unknown>)
    })
    this.es.addEventListener('error', (event) => {
      const e = event as Event & { code?: number; message?: string }
      this.errors.push({ code: e.code, message: e.message })
    })
  }

  /** Payloads received so far, in order. */
  get payloads(): string[] {
    return this.messages.map((m) => m.data.payload)
  }

  /** Resolves with the data of the `count`th `stream` event (the subscription is in place). */
  async opened(count = 1, timeout = 5000): Promise<Record<string, unknown>> {
    await waitFor(() => this.streams.length >= count || this.errors.some((e) => e.code !== undefined), {
      timeout,
      message: `SSE stream #${count} to open`,
    })
    if (this.streams.length < count) throw new Error(`SSE stream failed: ${JSON.stringify(this.errors)}`)
    return this.streams[count - 1]!
  }

  /** Resolves once `count` messages arrived in all. */
  async received(count: number, timeout = 5000): Promise<ReceivedEvent[]> {
    await waitFor(() => this.messages.length >= count, { timeout, message: `${count} SSE messages (have ${this.messages.length})` })
    return this.messages
  }

  /** Resolves with the first error that carries an HTTP status (the EventSource gave up). */
  async failed(timeout = 5000): Promise<{ code: number | undefined; message: string | undefined }> {
    return await waitFor(() => this.errors.find((e) => e.code !== undefined), { timeout, message: 'an SSE error with a status' })
  }

  close(): void {
    this.es.close()
  }
}

/** Reads a raw SSE response until `predicate` holds for the text so far (bounded). */
export async function readUntil(response: Response, predicate: (text: string) => boolean, timeout = 5000): Promise<string> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + timeout
  try {
    while (!predicate(text)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`Timed out reading SSE; got ${JSON.stringify(text)}`)
      let timer: ReturnType<typeof setTimeout> | undefined
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Timed out reading SSE; got ${JSON.stringify(text)}`)), left)
        }),
      ]).finally(() => clearTimeout(timer))
      if (chunk.done) break
      text += decoder.decode(chunk.value, { stream: true })
    }
    return text
  } finally {
    await reader.cancel().catch(() => {})
  }
}
