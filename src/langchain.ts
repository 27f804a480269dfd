/**
 * `breakwater/langchain`: registry tools for `@langchain/core`, and
 * breakwater as `langchain` agent middleware. A separate entry point so that
 * only LangChain users load LangChain.
 */
export * from './adapters/langchain/index.js';
