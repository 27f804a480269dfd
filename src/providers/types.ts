import type { BuiltinProfileName, Profile, ProfileInput } from '../policy/profile.js';

/**
 * The neutral chat form. A conversation is kept in these types, not in either
 * vendor's, so that it can move from one provider to another at any turn —
 * including between a tool call and its result — after a failover.
 */

/** A JSON Schema object, as given to a model for a tool's input. */
export type JsonSchema = { readonly [key: string]: unknown };

/** A tool the model may call. `parameters` is the JSON Schema of its input (an object). */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string | undefined;
  readonly parameters: JsonSchema;
}

/**
 * Anything that can list tool definitions — a tool registry, for one. Each
 * provider asks in its own format and accepts any of the three shapes back
 * (neutral, OpenAI `{ type: 'function', function }`, Anthropic `{ name,
 * input_schema }`), so a registry only has to produce what it already does.
 */
export interface ToolDefinitionSource {
  definitions(format: 'openai' | 'anthropic'): readonly unknown[];
}

export type ToolsInput = readonly ToolDefinition[] | ToolDefinitionSource;

/** A call the model asked for. */
export interface ToolCall {
  /** The provider's id for the call; tool results refer to it. */
  readonly id: string;
  readonly name: string;
  /** The input, parsed. A model's malformed JSON leaves `{}` here and the text in `rawArguments`. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** Present only when the model's arguments were not a JSON object: what it actually wrote. */
  readonly rawArguments?: string | undefined;
}

export interface UserMessage {
  readonly role: 'user';
  readonly content: string;
}

export interface AssistantMessage {
  readonly role: 'assistant';
  /** The text; `''` when the turn holds only tool calls. */
  readonly content: string;
  readonly toolCalls?: readonly ToolCall[] | undefined;
}

/** The result of one tool call, sent back to the model. */
export interface ToolResultMessage {
  readonly role: 'tool';
  readonly toolCallId: string;
  /** The tool's name; optional, neither provider needs it. */
  readonly toolName?: string | undefined;
  readonly content: string;
  /** The tool failed; `content` says how. Anthropic gets `is_error`, OpenAI a leading `Error: `. */
  readonly isError?: boolean | undefined;
}

export type ChatMessage = UserMessage | AssistantMessage | ToolResultMessage;

export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

export interface ChatRequest {
  readonly system?: string | undefined;
  readonly messages: readonly ChatMessage[];
  readonly tools?: ToolsInput | undefined;
  readonly toolChoice?: ToolChoice | undefined;
  readonly maxTokens?: number | undefined;
  readonly temperature?: number | undefined;
  readonly stop?: readonly string[] | undefined;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'refusal' | 'other';

export interface Usage {
  /** Every input token, cached or not. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
}

export interface ChatResponse {
  /** The provider that answered (its `name`). */
  readonly provider: string;
  /** The model that answered, as the provider reported it. */
  readonly model: string;
  /** The provider's id for this answer (`chatcmpl-…`, `msg_…`), when it gave one. */
  readonly id?: string | undefined;
  readonly message: AssistantMessage;
  /** The same calls as `message.toolCalls`, never undefined. */
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage | undefined;
  /** The router's deployment that served it (its id); providers need not set it. */
  readonly deployment?: string | undefined;
}

/** One piece of a streamed answer. */
export type ChatChunk =
  | { readonly type: 'text'; readonly text: string }
  /** A tool call begins; `index` counts tool calls in this answer from 0. */
  | { readonly type: 'tool_call_start'; readonly index: number; readonly id: string; readonly name: string }
  /** More of a tool call's JSON arguments, as text. */
  | { readonly type: 'tool_call_delta'; readonly index: number; readonly argumentsDelta: string }
  | { readonly type: 'usage'; readonly usage: Usage }
  /** The last chunk: the whole answer, assembled. */
  | { readonly type: 'finish'; readonly finishReason: FinishReason; readonly response: ChatResponse };

/** Text to embed: one string, or several embedded in one request (the vectors come back in the same order). */
export interface EmbedRequest {
  readonly input: string | readonly string[];
  /** The vectors' length, for models that can shorten them (OpenAI's `text-embedding-3-*`). */
  readonly dimensions?: number | undefined;
}

export interface EmbedUsage {
  /** Embeddings are counted by their input alone. */
  readonly inputTokens: number;
  readonly totalTokens: number;
}

export interface EmbedResponse {
  /** The provider that answered (its `name`). */
  readonly provider: string;
  /** The model that answered, as the provider reported it. */
  readonly model: string;
  /** One vector per input, in the order of the inputs (one for a single string). */
  readonly embeddings: number[][];
  readonly usage: EmbedUsage | undefined;
  /** The router's deployment that served it (its id); providers need not set it. */
  readonly deployment?: string | undefined;
}

/** What a provider is given for one attempt. */
export interface ProviderCallOptions {
  /** Aborts the HTTP request. Always passed on to the SDK. */
  readonly signal?: AbortSignal | undefined;
  /** The SDK's own timeout for this request, a safety net behind the policy's. */
  readonly timeoutMs?: number | undefined;
  /**
   * Called with the HTTP response headers of this attempt — for chat,
   * stream and embed, on success and on an HTTP error (a 429's say the most) — so that
   * a quota can read the provider's rate-limit headers. Errors it throws are
   * ignored. Providers without HTTP headers never call it.
   */
  readonly onHeaders?: ((headers: Headers) => void) | undefined;
}

/**
 * One provider and model behind a neutral interface: a single attempt, no
 * retries (the router's policy owns those). Errors are breakwater errors that
 * carry a classified failure, except that an abort through `signal` may
 * surface as the SDK's own abort error.
 */
export interface Provider {
  /** A short stable name (`openai`, `anthropic`, `azure-east`), used in errors and telemetry. */
  readonly name: string;
  readonly model: string;
  /** This provider's policy profile, when it should differ from the router's. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  chat(request: ChatRequest, options?: ProviderCallOptions): Promise<ChatResponse>;
  /** The answer as it is generated; ends with a `finish` chunk or throws. */
  stream(request: ChatRequest, options?: ProviderCallOptions): AsyncIterable<ChatChunk>;
  /**
   * Embeddings of the input from this provider's `model` (an embedding model).
   * Absent on providers without an embeddings API (Anthropic's); the router
   * skips those for `embed`. Same contract as `chat`: one attempt, classified errors.
   */
  embed?(request: EmbedRequest, options?: ProviderCallOptions): Promise<EmbedResponse>;
}
