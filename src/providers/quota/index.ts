export { DEFAULT_OUTPUT_TOKENS, estimateEmbedTokens, estimateTokens } from './estimate.js';
export { type RateLimitReading, type RateLimitWindow, readRateLimitHeaders } from './headers.js';
export {
  createQuota,
  type Quota,
  type QuotaAcquireOptions,
  type QuotaOptions,
  type QuotaReservation,
} from './quota.js';
