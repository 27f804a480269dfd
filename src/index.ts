export * from './failure/index.js';
export * from './policy/index.js';
