/**
 * The names health had before it became one contract for every store; kept
 * so that code written against them still compiles.
 */
export type {
  Admission as SharedAdmission,
  Health as SharedHealth,
  HealthPermit as SharedPermit,
  HealthSource as SharedHealthSource,
} from './health.js';
export { isHealthSource as isSharedHealthSource } from './health.js';
