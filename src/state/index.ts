export { type MemoryStore, type MemoryStoreOptions, memoryStore } from './memory.js';
export { type SetIfAbsentResult, type StateStore, StoreFullError, type WriteOptions } from './store.js';
