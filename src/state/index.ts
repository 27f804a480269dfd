export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './memory.js';
export type { SetIfAbsentResult, StateStore } from './store.js';
