/**
 * The providers' tool shapes, written out here so that this package does not
 * depend on either SDK; a test type-checks them against the SDKs' own types.
 */

/** The rule both OpenAI and Anthropic apply to tool names. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export type DefinitionFormat = 'openai' | 'openai-responses' | 'anthropic';

export type JsonSchemaObject = { readonly type: 'object' } & Record<string, unknown>;

/** OpenAI Chat Completions: `ChatCompletionFunctionTool`. */
export interface OpenAIChatToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: JsonSchemaObject; strict?: boolean };
}

/** OpenAI Responses: `FunctionTool`. */
export interface OpenAIResponsesToolDefinition {
  type: 'function';
  name: string;
  description?: string;
  parameters: JsonSchemaObject;
  strict: boolean;
}

/** Anthropic Messages: `Tool`. */
export interface AnthropicToolDefinition {
  name: string;
  description?: string;
  input_schema: JsonSchemaObject;
}

export interface DefinitionFor {
  openai: OpenAIChatToolDefinition;
  'openai-responses': OpenAIResponsesToolDefinition;
  anthropic: AnthropicToolDefinition;
}

/** OpenAI Chat Completions: an entry of `message.tool_calls`. */
export interface OpenAIChatToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** OpenAI Chat Completions: a call to a custom (free-text) tool, which a registry cannot serve. */
export interface OpenAIChatCustomToolCall {
  readonly id: string;
  readonly type: 'custom';
  readonly custom: { readonly name: string; readonly input: string };
}

/** OpenAI Responses: a `function_call` item of `response.output`. */
export interface OpenAIResponsesFunctionCall {
  readonly type: 'function_call';
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
}

/** Anthropic Messages: a `tool_use` block of `message.content`. */
export interface AnthropicToolUse {
  readonly type: 'tool_use';
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

/** OpenAI Chat Completions: `ChatCompletionToolMessageParam`. */
export interface OpenAIChatToolResult {
  role: 'tool';
  tool_call_id: string;
  content: string;
}

/** OpenAI Responses: `ResponseInputItem.FunctionCallOutput`. */
export interface OpenAIResponsesToolResult {
  type: 'function_call_output';
  call_id: string;
  output: string;
}

/** Anthropic Messages: `ToolResultBlockParam`; send them as the content of one `user` message. */
export interface AnthropicToolResult {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

export type ProviderToolCall =
  | OpenAIChatToolCall
  | OpenAIChatCustomToolCall
  | OpenAIResponsesFunctionCall
  | AnthropicToolUse;

export type ProviderToolResult = OpenAIChatToolResult | OpenAIResponsesToolResult | AnthropicToolResult;

/**
 * The answer to each kind of item: a `function_call` gets a Responses result,
 * a `tool_use` an Anthropic one, a chat tool call a `tool` message; any other
 * item (text, reasoning, a server tool) gets none. Items typed only as
 * `{ type: string }` may be any of the three.
 */
export type ToolResultFor<C> = C extends { readonly type: 'function_call' }
  ? OpenAIResponsesToolResult
  : C extends { readonly type: 'tool_use' }
    ? AnthropicToolResult
    : C extends { readonly type: 'function' | 'custom'; readonly id: string }
      ? OpenAIChatToolResult
      : C extends { readonly type: infer T }
        ? string extends T
          ? ProviderToolResult
          : never
        : never;

/** What a failed call tells the model, as JSON in the tool result. */
export interface ToolErrorPayload {
  readonly error: {
    /** A small closed vocabulary: `invalid_input`, `timeout`, `outcome_unknown`, `circuit_open`, … */
    readonly type: string;
    readonly message: string;
    /** Whether the same call, made again later, could succeed. */
    readonly retryable: boolean;
    /** `unknown`: it may have taken effect; the model must not simply call it again. */
    readonly outcome: 'failed' | 'unknown';
    readonly details: ToolErrorDetails;
  };
}

export interface ToolErrorDetails {
  readonly tool?: string;
  readonly kind?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly attempts?: number;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
}
