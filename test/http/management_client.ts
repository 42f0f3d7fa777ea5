/**
 * A tiny client for the management API tests: real fetch with basic auth, JSON in and out.
 * Nothing here touches the broker object; tests reach it over HTTP and AMQP only (users are
 * created through the API itself).
 */
import type { TestBroker } from '../helpers/broker.ts'

export interface ApiAnswer {
  status: number
  /** Parsed JSON, or undefined for an empty body. */
  body: any
  headers: Headers
}

export type Api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiAnswer>

export function basicAuth(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${user}:${password}`)}` }
}

/**
 * Requests as `user` (guest by default). A string body is sent as is (for malformed JSON);
 * anything else is JSON-encoded. `user` null sends no credentials.
 */
export function apiFor(broker: TestBroker, user: string | null = 'guest', password = user ?? ''): Api {
  return async (method, path, body, headers = {}) => {
    const init: RequestInit = {
      method,
      headers: { ...(user === null ? {} : basicAuth(user, password)), 'content-type': 'application/json', ...headers },
    }
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
    const response = await fetch(`${broker.httpUrl}/api${path}`, init)
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers }
  }
}

/** Creates a user with `tags` and, for each vhost given, full permissions there. */
export async function addUser(api: Api, name: string, tags: string[], vhosts: string[] = []): Promise<void> {
  const created = await api('PUT', `/users/${encodeURIComponent(name)}`, { password: name, tags: tags.join(',') })
  if (created.status !== 201) throw new Error(`Cannot create user "${name}": ${created.status} ${JSON.stringify(created.body)}`)
  for (const vhost of vhosts) {
    const p = await api('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`, {
      configure: '.*',
      write: '.*',
      read: '.*',
    })
    if (p.status !== 201) throw new Error(`Cannot grant "${name}" on "${vhost}": ${p.status}`)
  }
}
