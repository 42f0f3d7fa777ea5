// `node --import tsx test/runtime/smoke.node.ts`: the server on Node's node:net sockets.
import { runSmoke } from './smoke.ts'

await runSmoke()
