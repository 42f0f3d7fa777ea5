import { spawn } from 'node:child_process'
import { startBroker } from '../helpers/broker.ts'
const N = 2000
const b = await startBroker({ logLevel: 'warn' })
const child = spawn('/work/main/node_modules/bun/bin/bun.exe', ['/tmp/mq/client.ts', String(b.mqttPort), String(N)])
await new Promise<void>((r) => child.stdout.on('data', (d) => { if (String(d).includes('ALL')) r() }))
await new Promise((r) => setTimeout(r, 300))
Bun.gc(true)
const snap = Bun.generateHeapSnapshot() as any
const { nodes, nodeClassNames, edges, edgeNames } = snap
// JSC format: nodes: [id, size, classNameIndex, flags, ...] (4 per node); edges: [fromId, toId, typeIndex, dataIndex] 
const NODE = 4, EDGE = 4
const idToIdx = new Map<number, number>()
for (let i = 0; i < nodes.length; i += NODE) idToIdx.set(nodes[i], i / NODE)
const cls = (idx: number) => nodeClassNames[nodes[idx * NODE + 2]]
const retainers = new Map<string, number>()
for (let e = 0; e < edges.length; e += EDGE) {
  const to = idToIdx.get(edges[e + 1])!
  if (cls(to) !== 'Uint8Array') continue
  const from = idToIdx.get(edges[e])!
  const type = snap.edgeTypes[edges[e + 2]]
  const name = type === 'Property' || type === 'Variable' ? edgeNames[edges[e + 3]] : type
  const k = `${cls(from)}.${name}`
  retainers.set(k, (retainers.get(k) ?? 0) + 1)
}
console.log([...retainers].sort((a, b) => b[1] - a[1]).slice(0, 15))
child.kill()
await b.stop()
process.exit(0)
