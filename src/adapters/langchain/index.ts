export { type BreakwaterMiddlewareOptions, createBreakwaterMiddleware } from './middleware.js';
export type { ModelCallOptions } from './model-calls.js';
export type { LangChainToolPolicy } from './tool-calls.js';
export { createLangchainTools, type LangChainTool, type LangChainToolsOptions } from './tools.js';
