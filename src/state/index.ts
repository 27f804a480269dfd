export { type MemoryStore, type MemoryStoreOptions, memoryStore } from './memory.js';
export type { SetIfAbsentResult, StateStore } from './store.js';
