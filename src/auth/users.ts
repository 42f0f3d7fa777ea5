/**
 * Users with RabbitMQ-compatible password hashes, so definitions exported from RabbitMQ import
 * as they are and ours import into RabbitMQ.
 *
 * The format is `rabbit_password_hashing_sha256`: base64(salt ++ sha256(salt ++ utf8(password)))
 * with a 4-byte random salt.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { BrokerError } from '../api.ts'

export interface UserRecord {
  name: string
  /** Base64 of salt (4 bytes) and SHA-256 digest; "" means the user cannot log in by password. */
  passwordHash: string
  hashingAlgorithm: 'rabbit_password_hashing_sha256'
  tags: string[]
}

const SALT_LENGTH = 4
const DIGEST_LENGTH = 32

function digest(salt: Uint8Array, password: string): Buffer {
  return createHash('sha256').update(salt).update(password, 'utf8').digest()
}

/** Hashes a password the way RabbitMQ does; `salt` (4 bytes) is random unless given (tests). */
export function hashPassword(password: string, salt?: Uint8Array): string {
  const s = salt ?? randomBytes(SALT_LENGTH)
  if (s.length !== SALT_LENGTH) throw new RangeError(`Cannot hash password: salt must be ${SALT_LENGTH} bytes, got ${s.length}`)
  return Buffer.concat([s, digest(s, password)]).toString('base64')
}

/** Checks a password against the user's hash in constant time (for a well-formed hash). */
export function checkPassword(user: UserRecord, password: string): boolean {
  const stored = Buffer.from(user.passwordHash, 'base64')
  if (stored.length !== SALT_LENGTH + DIGEST_LENGTH) return false
  const expected = stored.subarray(SALT_LENGTH)
  return timingSafeEqual(digest(stored.subarray(0, SALT_LENGTH), password), expected)
}

export interface UserStoreOptions {
  /** Called after every change (undefined record: deleted), e.g. to persist definitions. */
  onChange?: (name: string, record: UserRecord | undefined) => void
}

/** The users of one broker. Records handed out are live; change them only through the store. */
export class UserStore {
  #users = new Map<string, UserRecord>()
  #onChange: UserStoreOptions['onChange']

  constructor(options: UserStoreOptions = {}) {
    this.#onChange = options.onChange
  }

  /** Creates a user. Throws BrokerError('precondition-failed') if the name is taken. */
  add(name: string, password: string, tags: string[] = []): UserRecord {
    if (this.#users.has(name)) throw new BrokerError('precondition-failed', `user '${name}' already exists`)
    return this.put({ name, passwordHash: hashPassword(password), hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [...tags] })
  }

  /** Creates or replaces a user from a stored record (definitions import, recovery). */
  put(record: UserRecord): UserRecord {
    const copy: UserRecord = { ...record, tags: [...record.tags] }
    this.#users.set(copy.name, copy)
    this.#onChange?.(copy.name, copy)
    return copy
  }

  get(name: string): UserRecord | undefined {
    return this.#users.get(name)
  }

  delete(name: string): boolean {
    if (!this.#users.delete(name)) return false
    this.#onChange?.(name, undefined)
    return true
  }

  list(): UserRecord[] {
    return [...this.#users.values()]
  }

  get size(): number {
    return this.#users.size
  }

  /** Sets a precomputed hash (RabbitMQ format); "" disables password login. False if no such user. */
  setPasswordHash(name: string, passwordHash: string): boolean {
    return this.#update(name, (user) => (user.passwordHash = passwordHash))
  }

  /** Hashes and sets a new password. False if no such user. */
  setPassword(name: string, password: string): boolean {
    return this.setPasswordHash(name, hashPassword(password))
  }

  /** Replaces the user's tags (administrator, management, monitoring …). False if no such user. */
  setTags(name: string, tags: string[]): boolean {
    return this.#update(name, (user) => (user.tags = [...tags]))
  }

  #update(name: string, change: (user: UserRecord) => void): boolean {
    const user = this.#users.get(name)
    if (user === undefined) return false
    change(user)
    this.#onChange?.(name, user)
    return true
  }
}
