/**
 * `breakwater/redis`: state shared across processes. Its own entry point, so
 * that applications without Redis never load it.
 */
export {
  type RedisStore,
  type RedisStoreOptions,
  redisStore,
  StoreUnavailableError,
} from './state/redis.js';
