/**
 * File operations for the durable stores (src/store/), behind the runtime seam. `node:fs` behaves
 * the same on Bun, Deno and Node, so there is one implementation; the point of this module is
 * that the stores name what they need (append, fsync, atomic replace) and nothing else.
 *
 * Writes are synchronous: they only copy into the kernel's page cache, which survives the
 * process being killed, and doing them inline keeps the ordering obvious. Only `syncFile`, the
 * part that waits for the disk, is asynchronous.
 *
 * @module
 */
import * as fs from 'node:fs'
import { dirname } from 'node:path'

/** Most buffers one writev takes (Linux IOV_MAX). */
const IOV_MAX = 1024

/** Opens `path` for appending, creating it. Returns the descriptor. */
export function openAppend(path: string): number {
  return fs.openSync(path, 'a')
}

/** Opens `path` for appending and for reading at explicit positions, creating it. */
export function openAppendRead(path: string): number {
  return fs.openSync(path, 'a+')
}

/** Opens an existing file for reading; undefined when it does not exist. */
export function openRead(path: string): number | undefined {
  try {
    return fs.openSync(path, 'r')
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/** Opens `path` for reading and writing at explicit positions, creating it. */
export function openReadWrite(path: string): number {
  return fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+')
}

export function closeFile(fd: number): void {
  fs.closeSync(fd)
}

/**
 * Writes every byte of `chunks` at the file's end (an `openAppend` descriptor) with as few
 * writev calls as the kernel allows (one per 1024 buffers), finishing short writes. Returns the
 * bytes written.
 */
export function appendAll(fd: number, chunks: readonly Uint8Array[]): number {
  let total = 0
  for (let i = 0; i < chunks.length; i += IOV_MAX) {
    let batch = chunks.length <= IOV_MAX ? (chunks as Uint8Array[]) : chunks.slice(i, i + IOV_MAX)
    let want = 0
    for (const c of batch) want += c.byteLength
    // Bounded: every pass writes at least one byte or throws.
    while (want > 0) {
      const n = fs.writevSync(fd, batch)
      total += n
      want -= n
      if (want === 0) break
      batch = dropWritten(batch, n)
    }
  }
  return total
}

/** The part of `batch` not yet written after `n` bytes went out. */
function dropWritten(batch: Uint8Array[], n: number): Uint8Array[] {
  let i = 0
  while (n >= batch[i]!.byteLength) n -= batch[i++]!.byteLength
  const rest = batch.slice(i)
  rest[0] = rest[0]!.subarray(n)
  return rest
}

/** Writes all of `data` at `position` (in-place updates of small files). */
export function writeAt(fd: number, data: Uint8Array, position: number): void {
  let done = 0
  while (done < data.byteLength) done += fs.writeSync(fd, data, done, data.byteLength - done, position + done)
}

/** Reads up to `into.byteLength` bytes at `position`; returns how many (fewer at the end). */
export function readAt(fd: number, into: Uint8Array, position: number): number {
  let done = 0
  while (done < into.byteLength) {
    const n = fs.readSync(fd, into, done, into.byteLength - done, position + done)
    if (n === 0) break
    done += n
  }
  return done
}

/** Waits until what was written to `fd` is on the disk (fdatasync). */
export function syncFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())))
}

/** fdatasync, blocking: for shutdown and the rare atomic replace. */
export function syncFileNow(fd: number): void {
  fs.fdatasyncSync(fd)
}

/** Makes a rename or unlink in `dir` durable. A no-op where directories cannot be opened. */
export function syncDir(dir: string): void {
  let fd: number
  try {
    fd = fs.openSync(dir, 'r')
  } catch {
    return
  }
  try {
    fs.fsyncSync(fd)
  } catch {
    // Some platforms refuse fsync on a directory; the rename itself is still atomic there.
  } finally {
    fs.closeSync(fd)
  }
}

/** Size of the file, or -1 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return fs.statSync(path).size
  } catch (error) {
    if (isNotFound(error)) return -1
    throw error
  }
}

/** The whole file, or undefined when it does not exist. */
export function readWhole(path: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(path)
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

/** Entries of a directory, sorted; [] when it does not exist. */
export function listDir(path: string): string[] {
  try {
    return fs.readdirSync(path).sort()
  } catch (error) {
    if (isNotFound(error)) return []
    throw error
  }
}

export function isDirectory(path: string): boolean {
  try {
    return fs.statSync(path).isDirectory()
  } catch {
    return false
  }
}

export function makeDir(path: string): void {
  fs.mkdirSync(path, { recursive: true })
}

/** Deletes a file; a missing one is fine. */
export function removeFile(path: string): void {
  try {
    fs.unlinkSync(path)
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
}

/** Deletes a directory and everything in it; a missing one is fine. */
export function removeDir(path: string): void {
  fs.rmSync(path, { recursive: true, force: true })
}

export function renameFile(from: string, to: string): void {
  fs.renameSync(from, to)
}

/** Cuts the file to `length` bytes (drops a torn tail). */
export function truncateFile(path: string, length: number): void {
  fs.truncateSync(path, length)
}

/** Cuts an open file to `length` bytes (undoing a partial append). */
export function truncateFd(fd: number, length: number): void {
  fs.ftruncateSync(fd, length)
}

/**
 * Replaces `path` with `chunks` atomically: write a temp file, fsync it, rename it over `path`,
 * fsync the directory. A crash at any point leaves either the old or the new file.
 */
export function replaceFile(path: string, chunks: readonly Uint8Array[]): void {
  const temp = `${path}.tmp`
  const fd = fs.openSync(temp, 'w')
  try {
    appendAll(fd, chunks)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(temp, path)
  syncDir(dirname(path))
}

/**
 * Creates `path` exclusively; false when it exists already. For lock files.
 */
export function createExclusive(path: string, data: Uint8Array): boolean {
  let fd: number
  try {
    fd = fs.openSync(path, 'wx')
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return false
    throw error
  }
  try {
    fs.writeSync(fd, data)
  } finally {
    fs.closeSync(fd)
  }
  return true
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: string }).code === 'ENOENT'
}

/**
 * Bytes free for an unprivileged writer on the filesystem holding `path` (statfs: available
 * blocks times block size), as RabbitMQ's disk monitor measures it.
 */
export async function freeSpace(path: string): Promise<number> {
  const s = await fs.promises.statfs(path)
  return Number(s.bavail) * Number(s.bsize)
}
