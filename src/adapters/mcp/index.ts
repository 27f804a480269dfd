export { effectFor, hintedEffect, type McpAnnotations } from './effect.js';
export { McpImportError, type McpImportProblem } from './failures.js';
export {
  importMcpTools,
  type McpClientLike,
  type McpImportOptions,
  type McpToolOptions,
} from './import.js';
export { IDEMPOTENCY_KEY_META } from './meta.js';
export { createMcpServer, type McpServerOptions } from './server.js';
