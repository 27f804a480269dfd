export * from './failure/index.js';
export * from './policy/index.js';
export * from './telemetry/index.js';
