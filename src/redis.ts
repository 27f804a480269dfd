/**
 * `breakwater/redis`: state shared across processes. Its own entry point, so
 * that applications without Redis never load it.
 */
export {
  createRedisStore,
  type RedisStore,
  type RedisStoreOptions,
  StoreUnavailableError,
} from './state/redis.js';
export type { RedisClient } from './state/redis-scripts.js';
