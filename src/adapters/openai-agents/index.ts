export { type AgentsModelProviderOptions, createAgentsModelProvider } from './model-provider.js';
export { type AgentsTool, type AgentsToolsOptions, createAgentsTools } from './tools.js';
