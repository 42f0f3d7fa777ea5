/**
 * SASL responses of connection.start-ok: PLAIN ("authzid\0user\0pass") and AMQPLAIN (a field
 * table with LOGIN and PASSWORD, sent without its 4-byte length prefix). Parsing only; the
 * broker checks the credentials.
 *
 * @module
 */
import { decodeFieldTableBody } from './codec/field_table.ts'

/** The SASL mechanisms offered in connection.start, space separated as the spec asks. */
export const MECHANISMS = 'PLAIN AMQPLAIN'

export interface Credentials {
  username: string
  password: string
}

const utf8 = new TextDecoder()

/**
 * Returns the credentials, or a string describing why the response is malformed (RabbitMQ then
 * closes with 502 SYNTAX_ERROR), or undefined for a mechanism Warren does not offer.
 */
export function parseSaslResponse(mechanism: string, response: Uint8Array): Credentials | string | undefined {
  if (mechanism === 'PLAIN') return parsePlain(response)
  if (mechanism === 'AMQPLAIN') return parseAmqplain(response)
  return undefined
}

function parsePlain(response: Uint8Array): Credentials | string {
  // authzid is ignored (RabbitMQ requires it empty; accepting any costs nothing).
  const first = response.indexOf(0)
  const second = first < 0 ? -1 : response.indexOf(0, first + 1)
  if (second < 0 || response.indexOf(0, second + 1) >= 0) return 'PLAIN response invalid'
  return {
    username: utf8.decode(response.subarray(first + 1, second)),
    password: utf8.decode(response.subarray(second + 1)),
  }
}

function parseAmqplain(response: Uint8Array): Credentials | string {
  let table
  try {
    table = decodeFieldTableBody(response)
  } catch {
    return 'AMQPLAIN auth info is not a field table'
  }
  const login = table.LOGIN
  const password = table.PASSWORD
  if (login === undefined || password === undefined) return 'AMQPLAIN auth info is missing LOGIN or PASSWORD field'
  const text = (value: unknown) => (typeof value === 'string' ? value : value instanceof Uint8Array ? utf8.decode(value) : undefined)
  const username = text(login)
  const pass = text(password)
  if (username === undefined || pass === undefined) return 'AMQPLAIN auth info uses unsupported type for LOGIN or PASSWORD field'
  return { username, password: pass }
}
