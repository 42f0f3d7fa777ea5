// `deno run -A test/runtime/smoke.deno.ts`: the server on Deno's node:net compatibility layer.
// amqplib and zod resolve from node_modules (deno.json: nodeModulesDir "manual").
import { runSmoke } from './smoke.ts'

await runSmoke()
