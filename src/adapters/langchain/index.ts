export { type BreakwaterMiddlewareOptions, breakwaterMiddleware } from './middleware.js';
export type { ModelCallOptions } from './model-calls.js';
export type { LangChainToolPolicy } from './tool-calls.js';
export { type LangChainTool, type LangChainToolsOptions, langchainTools } from './tools.js';
