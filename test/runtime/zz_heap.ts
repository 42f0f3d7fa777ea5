import { heapStats } from 'bun:jsc'
import { spawn } from 'node:child_process'
import { startBroker } from '../helpers/broker.ts'
const N = 5000
const b = await startBroker({ logLevel: 'warn' })
Bun.gc(true)
const h0 = heapStats()
const rss0 = process.memoryUsage().rss
const child = spawn('/work/main/node_modules/bun/bin/bun.exe', ['/tmp/mq/client.ts', String(b.mqttPort), String(N)])
await new Promise<void>((r) => child.stdout.on('data', (d) => { if (String(d).includes('ALL')) r() }))
await new Promise((r) => setTimeout(r, 500))
Bun.gc(true)
const h1 = heapStats()
const rss1 = process.memoryUsage().rss
console.log('heap/conn', ((h1.heapSize - h0.heapSize) / N).toFixed(0), 'rss/conn', ((rss1 - rss0) / N).toFixed(0))
const deltas = Object.entries(h1.objectTypeCounts).map(([k, v]) => [k, v - (h0.objectTypeCounts[k] ?? 0)] as const).filter(([, d]) => d >= N / 2).sort((a, b) => b[1] - a[1])
console.log(deltas.map(([k, d]) => `${k}:${(d / N).toFixed(1)}`).join(' '))
child.kill()
await b.stop()
process.exit(0)
