import { heapStats } from 'bun:jsc'
import { spawn } from 'node:child_process'
import { listen } from '../../src/runtime/mod.ts'
const N = 5000
const socks: unknown[] = []
const l = await listen({ host: '127.0.0.1', port: 0 }, (s) => { socks.push(s); s.onData(() => { s.write(new Uint8Array([0x20, 2, 0, 0])) }) })
Bun.gc(true)
const h0 = heapStats()
const child = spawn('/work/main/node_modules/bun/bin/bun.exe', ['/tmp/mq/client.ts', String(l.port), String(N)])
await new Promise<void>((r) => child.stdout.on('data', (d) => { if (String(d).includes('ALL')) r() }))
await new Promise((r) => setTimeout(r, 500))
Bun.gc(true)
const h1 = heapStats()
console.log('heap/conn', ((h1.heapSize - h0.heapSize) / N).toFixed(0))
const deltas = Object.entries(h1.objectTypeCounts).map(([k, v]) => [k, v - (h0.objectTypeCounts[k] ?? 0)] as const).filter(([, d]) => d >= N / 2).sort((a, b) => b[1] - a[1])
console.log(deltas.map(([k, d]) => `${k}:${(d / N).toFixed(1)}`).join(' '))
child.kill()
process.exit(0)
