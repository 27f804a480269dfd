/**
 * `breakwater/ai-sdk`: registry tools for the Vercel AI SDK (`ai@6`). A
 * separate entry point so that only users of the AI SDK load it.
 */
export * from './adapters/ai-sdk/index.js';
