export {
  type BreakwaterMiddlewareOptions,
  type BreakwaterModelMiddleware,
  breakwaterMiddleware,
} from './middleware.js';
export { type AiSdkProviderOptions, createAiSdkProvider } from './provider.js';
export { createRouterModel, type RouterLanguageModel, type RouterModelOptions } from './router-model.js';
export type {
  AiSdkCallOptions,
  AiSdkCallOptionsRead,
  AiSdkContent,
  AiSdkFinishReason,
  AiSdkFunctionTool,
  AiSdkGenerateResult,
  AiSdkGenerateResultRead,
  AiSdkJsonObject,
  AiSdkJsonValue,
  AiSdkLanguageModel,
  AiSdkMessage,
  AiSdkPartRead,
  AiSdkPromptMessageRead,
  AiSdkPromptPartRead,
  AiSdkProviderMetadata,
  AiSdkStreamPart,
  AiSdkStreamResult,
  AiSdkStreamResultRead,
  AiSdkTextPart,
  AiSdkToolCallPart,
  AiSdkToolChoice,
  AiSdkToolResultOutput,
  AiSdkToolResultPart,
  AiSdkUsage,
  AiSdkWarning,
} from './spec.js';
export { type AiSdkTool, type AiSdkToolsOptions, createAiSdkTools } from './tools.js';
