export * from './failure/index.js';
export * from './idempotency/index.js';
export * from './policy/index.js';
export * from './providers/index.js';
export * from './state/index.js';
export * from './telemetry/index.js';
export * from './tools/index.js';
