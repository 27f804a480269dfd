export { type AiSdkTool, type AiSdkToolsOptions, createAiSdkTools } from './tools.js';
