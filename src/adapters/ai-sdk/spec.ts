/*
 * The part of the AI SDK's language-model specification that breakwater
 * writes and reads. Declared here rather than imported from
 * `@ai-sdk/provider`, so that the package needs no particular version of it:
 * ai@6 speaks specification v3, ai@7 speaks v4 and still accepts v3 models,
 * and the providers of each major (`@ai-sdk/openai@3` → v3, `@4` → v4) are
 * wrapped alike. The prompt, tool and result shapes used here are the same
 * in both versions.
 *
 * Two kinds of types: the exact shapes breakwater *writes* (a subset of
 * both versions, so that a v3 or v4 model accepts them), and loose shapes it
 * *reads* (wide enough that whatever either version sends fits, and checked
 * part by part at run time).
 */

export type AiSdkJsonValue = null | string | number | boolean | AiSdkJsonObject | AiSdkJsonValue[];
export type AiSdkJsonObject = { [key: string]: AiSdkJsonValue | undefined };

// ---- written: a request to a wrapped model ----

export interface AiSdkTextPart {
  type: 'text';
  text: string;
}

export interface AiSdkToolCallPart {
  type: 'tool-call';
  toolCallId: string;
  toolName: string;
  input: unknown;
}

export type AiSdkToolResultOutput = { type: 'text'; value: string } | { type: 'error-text'; value: string };

export interface AiSdkToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  toolName: string;
  output: AiSdkToolResultOutput;
}

export type AiSdkMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: AiSdkTextPart[] }
  | { role: 'assistant'; content: Array<AiSdkTextPart | AiSdkToolCallPart> }
  | { role: 'tool'; content: AiSdkToolResultPart[] };

export interface AiSdkFunctionTool {
  type: 'function';
  name: string;
  description?: string;
  inputSchema: { [key: string]: unknown };
}

export type AiSdkToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  | { type: 'required' }
  | { type: 'tool'; toolName: string };

/** What breakwater passes to a wrapped model's `doGenerate` / `doStream`. */
export interface AiSdkCallOptions {
  prompt: AiSdkMessage[];
  tools?: AiSdkFunctionTool[];
  toolChoice?: AiSdkToolChoice;
  maxOutputTokens?: number;
  temperature?: number;
  stopSequences?: string[];
  abortSignal?: AbortSignal;
}

// ---- read: a wrapped model's answer ----

/** A part of a model's content or stream, as far as breakwater looks at it. */
export interface AiSdkPartRead {
  readonly type: string;
  readonly id?: string;
  readonly text?: string;
  readonly delta?: string;
  readonly toolCallId?: string;
  readonly toolName?: string;
  readonly input?: unknown;
  readonly providerExecuted?: boolean;
  readonly finishReason?: unknown;
  readonly usage?: unknown;
  readonly modelId?: string;
  readonly error?: unknown;
}

export interface AiSdkGenerateResultRead {
  readonly content: ReadonlyArray<AiSdkPartRead>;
  /** `{ unified, raw }` in v3 and v4. */
  readonly finishReason: unknown;
  readonly usage?: unknown;
  readonly response?: { readonly id?: string; readonly modelId?: string; readonly headers?: unknown };
}

export interface AiSdkStreamResultRead {
  readonly stream: ReadableStream<AiSdkPartRead>;
  readonly response?: { readonly headers?: unknown };
}

/**
 * Any AI SDK language model: `openai('gpt-4.1')`, `anthropic('claude-…')`,
 * `google(…)`, `bedrock(…)`, a `wrapLanguageModel(…)`, a mock from `ai/test`.
 * Specification v3 (ai@6's providers) or v4 (ai@7's).
 */
export interface AiSdkLanguageModel {
  readonly specificationVersion: 'v3' | 'v4';
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: AiSdkCallOptions): PromiseLike<AiSdkGenerateResultRead>;
  doStream(options: AiSdkCallOptions): PromiseLike<AiSdkStreamResultRead>;
}

// ---- read: a request to the router model ----

/** A prompt part the AI SDK sends, as far as breakwater looks at it. */
export interface AiSdkPromptPartRead {
  readonly type: string;
  readonly text?: string;
  readonly toolCallId?: string;
  readonly toolName?: string;
  readonly input?: unknown;
  readonly providerExecuted?: boolean;
  readonly mediaType?: string;
  readonly output?: { readonly type: string; readonly value?: unknown; readonly reason?: string };
}

export interface AiSdkPromptMessageRead {
  readonly role: string;
  readonly content: string | ReadonlyArray<AiSdkPromptPartRead>;
}

/** What `generateText` / `streamText` pass to the router model. */
export interface AiSdkCallOptionsRead {
  readonly prompt: ReadonlyArray<AiSdkPromptMessageRead>;
  readonly tools?: ReadonlyArray<{
    readonly type: string;
    readonly name: string;
    readonly description?: string;
    readonly inputSchema?: unknown;
  }>;
  readonly toolChoice?: { readonly type: string; readonly toolName?: string };
  readonly maxOutputTokens?: number;
  readonly temperature?: number;
  readonly stopSequences?: ReadonlyArray<string>;
  readonly topP?: number;
  readonly topK?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
  readonly responseFormat?: { readonly type: string };
  readonly abortSignal?: AbortSignal;
}

// ---- written: the router model's answer ----

export type AiSdkFinishReason = {
  unified: 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';
  raw: string | undefined;
};

export interface AiSdkUsage {
  inputTokens: {
    total: number | undefined;
    noCache: number | undefined;
    cacheRead: number | undefined;
    cacheWrite: number | undefined;
  };
  outputTokens: { total: number | undefined; text: number | undefined; reasoning: number | undefined };
}

export type AiSdkWarning =
  | { type: 'unsupported'; feature: string; details?: string }
  | { type: 'other'; message: string };

export type AiSdkContent =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: string };

/** Which deployment answered, under `providerMetadata.breakwater`. */
export type AiSdkProviderMetadata = Record<string, AiSdkJsonObject>;

export interface AiSdkGenerateResult {
  content: AiSdkContent[];
  finishReason: AiSdkFinishReason;
  usage: AiSdkUsage;
  providerMetadata?: AiSdkProviderMetadata;
  response?: { id?: string; modelId?: string };
  warnings: AiSdkWarning[];
}

export type AiSdkStreamPart =
  | { type: 'stream-start'; warnings: AiSdkWarning[] }
  | { type: 'response-metadata'; id?: string; modelId?: string }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'tool-input-start'; id: string; toolName: string }
  | { type: 'tool-input-delta'; id: string; delta: string }
  | { type: 'tool-input-end'; id: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: string }
  | {
      type: 'finish';
      usage: AiSdkUsage;
      finishReason: AiSdkFinishReason;
      providerMetadata?: AiSdkProviderMetadata;
    }
  | { type: 'error'; error: unknown };

export interface AiSdkStreamResult {
  stream: ReadableStream<AiSdkStreamPart>;
}
