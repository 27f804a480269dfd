export { type AgentsTool, type AgentsToolsOptions, createAgentsTools } from './tools.js';
