export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './memory.js';
export { type SetIfAbsentResult, type StateStore, StoreFullError, type WriteOptions } from './store.js';
