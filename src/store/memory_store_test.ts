import { MemoryStore } from './memory_store.ts'
import { runStoreContract } from './store_contract.ts'

runStoreContract('MemoryStore', (queue) => new MemoryStore(queue.maxPriority))
