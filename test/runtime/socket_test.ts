// Both socket implementations run the same contract; Bun runs node:net too, so one `bun test`
// covers the Bun and the Node/Deno code paths.
import { listen as bunListen } from '../../src/runtime/bun.ts'
import { listen as nodeListen } from '../../src/runtime/node.ts'
import { runSocketContract } from './socket_contract.ts'

runSocketContract('bun.ts', bunListen)
runSocketContract('node.ts', nodeListen)
