import { startBroker } from '../helpers/broker.ts'
import mqtt from 'mqtt'
const b = await startBroker()
const auth = { Authorization: 'Basic ' + btoa('guest:guest') }
let r = await fetch(`${b.httpUrl}/api/whoami`, { headers: auth }); console.log(r.status, await r.text())
r = await fetch(`${b.httpUrl}/api/whoami`); console.log(r.status, r.headers.get('www-authenticate'), await r.text())
r = await fetch(`${b.httpUrl}/nope`); console.log(r.status, await r.text())
r = await fetch(`${b.httpUrl}/api/login`, { method: 'POST', body: '{bad', headers: {'content-type':'application/json'} }); console.log(r.status, await r.text())
r = await fetch(`${b.httpUrl}/api/login`, { method: 'POST', body: JSON.stringify({username:'guest', password:'guest'}) }); console.log(r.status, r.headers.get('set-cookie'), await r.clone().text())
const { token } = await r.json() as any
r = await fetch(`${b.httpUrl}/api/whoami?token=${token}`); console.log('token', r.status, await r.text())
r = await fetch(`${b.httpUrl}/mqtt`); console.log(r.status, await r.text())
const client = await mqtt.connectAsync(`ws://127.0.0.1:${b.httpPort}/mqtt`)
console.log('mqtt connected')
const got = new Promise((res) => client.on('message', (t, p) => res(`${t} ${p}`)))
await client.subscribeAsync('a/b', { qos: 1 })
await client.publishAsync('a/b', 'hello ws', { qos: 1 })
console.log(await got)
await client.endAsync()
await b.stop()
console.log('stopped')
