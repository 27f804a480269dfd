export {
  ToolDefinitionError,
  ToolError,
  type ToolErrorOptions,
  ToolOutputError,
  UnknownToolError,
} from './errors.js';
export { createToolFetch, HttpError, type ToolFetchOptions } from './fetch.js';
export type {
  AnthropicToolDefinition,
  AnthropicToolResult,
  AnthropicToolUse,
  DefinitionFor,
  DefinitionFormat,
  JsonSchemaObject,
  OpenAIChatCustomToolCall,
  OpenAIChatToolCall,
  OpenAIChatToolDefinition,
  OpenAIChatToolResult,
  OpenAIResponsesFunctionCall,
  OpenAIResponsesToolDefinition,
  OpenAIResponsesToolResult,
  ProviderToolCall,
  ProviderToolResult,
  ToolErrorDetails,
  ToolErrorPayload,
  ToolResultFor,
} from './formats.js';
export { TOOL_NAME_PATTERN } from './formats.js';
export { toolErrorPayload } from './handle.js';
export {
  type CallOptions,
  createRegistry,
  type HandleOptions,
  type KeyStrategy,
  type ReconcileContext,
  type ReconcileFn,
  type RegisteredTool,
  type Registry,
  type RegistryOptions,
  type ToolArgumentsOf,
  type ToolCallInfo,
  type ToolContext,
  type ToolIdempotency,
  type ToolInputOf,
  type ToolInputSchema,
  type ToolSpec,
} from './registry.js';
export type {
  JsonSchemaTarget,
  StandardInput,
  StandardIssue,
  StandardOutput,
  StandardPath,
  StandardProperties,
  StandardResult,
  StandardSchema,
} from './standard-schema.js';
