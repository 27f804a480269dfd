/**
 * `breakwater/openai-agents`: registry tools for the OpenAI Agents SDK
 * (`@openai/agents`). A separate entry point so that only its users load it.
 */
export * from './adapters/openai-agents/index.js';
