export { type MemoryStore, type MemoryStoreOptions, memoryStore } from './memory.js';
export { type SetIfAbsentResult, type StateStore } from './store.js';
