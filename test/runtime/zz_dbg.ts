import net from 'node:net'
import { startBroker } from '../helpers/broker.ts'
const b = await startBroker({ logLevel: 'debug' })
const str = (s: string) => { const x = Buffer.from(s); return Buffer.concat([Buffer.from([x.length >> 8, x.length & 255]), x]) }
const body = Buffer.concat([str('MQTT'), Buffer.from([6, 2, 0, 60]), str('lvl6')])
const pkt = Buffer.concat([Buffer.from([0x10, body.length]), body])
const s = net.connect(b.mqttPort, '127.0.0.1')
s.on('data', (d) => console.log('data', d))
s.on('close', () => console.log('closed'))
s.write(pkt)
await new Promise((r) => setTimeout(r, 500))
await b.stop()
process.exit(0)
