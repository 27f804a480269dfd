export { type AgentsTool, type AgentsToolsOptions, agentsTools } from './tools.js';
