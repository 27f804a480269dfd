export { type AiSdkTool, type AiSdkToolsOptions, aiSdkTools } from './tools.js';
