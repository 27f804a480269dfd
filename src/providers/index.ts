export {
  type AnthropicBlockParam,
  type AnthropicBody,
  type AnthropicClientLike,
  type AnthropicMessageParam,
  type AnthropicProviderOptions,
  type AnthropicRequestOptions,
  type AnthropicToolChoiceParam,
  type AnthropicToolParam,
  createAnthropicProvider,
  fromAnthropicResponse,
  fromAnthropicStream,
  toAnthropicRequest,
} from './anthropic.js';
export { Assembler, type PartialAnswer, type PartialToolCall } from './assemble.js';
export {
  AllProvidersFailedError,
  type ProviderFailure,
  StreamInterruptedError,
  type StreamInterruptedOptions,
} from './errors.js';
export { guardCall, providerError } from './failures.js';
export type {
  Deployment,
  FallbackClass,
  GroupFallbacks,
  ModelGroup,
  SkipReason,
  StrategyName,
} from './groups/types.js';
export {
  createOpenAIProvider,
  fromOpenAIResponse,
  fromOpenAIStream,
  type OpenAIChatBody,
  type OpenAIClientLike,
  type OpenAIMessageParam,
  type OpenAIProviderOptions,
  type OpenAIRequestOptions,
  type OpenAIToolCallParam,
  type OpenAIToolChoiceParam,
  type OpenAIToolParam,
  toOpenAIRequest,
} from './openai.js';
export {
  createQuota,
  DEFAULT_OUTPUT_TOKENS,
  estimateTokens,
  type Quota,
  type QuotaAcquireOptions,
  type QuotaOptions,
  type QuotaReservation,
  type RateLimitReading,
  type RateLimitWindow,
  readRateLimitHeaders,
} from './quota/index.js';
export {
  createRouter,
  type Route,
  type Router,
  type RouterCallOptions,
  type RouterOptions,
} from './router.js';
export type { StreamTimeouts } from './stream-timeouts.js';
export {
  normalizeToolDefinition,
  resolveTools,
  type ToolUseBlock,
  toolArgumentsText,
  toolCallFromText,
  toolResultMessages,
  toolUseBlocks,
} from './tools.js';
export type {
  AssistantMessage,
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  JsonSchema,
  Provider,
  ProviderCallOptions,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  ToolDefinitionSource,
  ToolResultMessage,
  ToolsInput,
  Usage,
  UserMessage,
} from './types.js';
