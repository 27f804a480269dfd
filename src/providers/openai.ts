import type { BuiltinProfileName, Profile, ProfileInput } from '../policy/profile.js';
import { Assembler, responseId } from './assemble.js';
import { guardCall, malformedResponse, providerError, truncatedStream } from './failures.js';
import { callWithHeaders } from './response-headers.js';
import { freshToolCallId, toolCallIdOr } from './tool-ids.js';
import { isRecord, resolveTools, toolArgumentsText, toolCallFromInput } from './tools.js';
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EmbedResponse,
  EmbedUsage,
  FinishReason,
  Provider,
  ProviderCallOptions,
  ToolCall,
  ToolChoice,
  Usage,
} from './types.js';

/*
 * The part of the OpenAI chat-completions wire format we write and read.
 * Declared here rather than imported from `openai` so that this module needs
 * no particular SDK version (the peer range spans majors) and the package's
 * types compile for users who installed only one of the SDKs.
 */

export interface OpenAIToolCallParam {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type OpenAIMessageParam =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCallParam[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface OpenAIToolParam {
  type: 'function';
  function: { name: string; description?: string; parameters: { [key: string]: unknown } };
}

export type OpenAIToolChoiceParam =
  | 'auto'
  | 'none'
  | 'required'
  | { type: 'function'; function: { name: string } };

export interface OpenAIChatBody {
  model: string;
  messages: OpenAIMessageParam[];
  tools?: OpenAIToolParam[];
  tool_choice?: OpenAIToolChoiceParam;
  max_completion_tokens?: number;
  max_tokens?: number;
  temperature?: number;
  stop?: string[];
  stream?: boolean;
  stream_options?: { include_usage: boolean };
}

export interface OpenAIRequestOptions {
  signal?: AbortSignal;
  maxRetries?: number;
  timeout?: number;
}

export interface OpenAIEmbeddingsBody {
  model: string;
  input: string | string[];
  dimensions?: number;
}

/**
 * What `createOpenAIProvider` needs of a client: `new OpenAI(…)` fits, as does
 * any OpenAI-compatible one. Without `embeddings`, the provider has no `embed`.
 */
export interface OpenAIClientLike {
  chat: {
    completions: {
      create(body: OpenAIChatBody, options?: OpenAIRequestOptions): PromiseLike<unknown>;
    };
  };
  embeddings?: {
    create(body: OpenAIEmbeddingsBody, options?: OpenAIRequestOptions): PromiseLike<unknown>;
  };
}

interface OpenAIUsageWire {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

interface OpenAICompletionWire {
  id?: unknown;
  model?: string;
  choices?: Array<{
    message?: {
      /** A string from OpenAI; an array of parts from some compatible servers. */
      content?: unknown;
      refusal?: string | null;
      tool_calls?: Array<{ id?: string; type?: string; function?: { name?: string; arguments?: unknown } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: OpenAIUsageWire | null;
}

interface OpenAIChunkWire {
  id?: unknown;
  model?: string;
  choices?: Array<{
    delta?: {
      content?: unknown;
      refusal?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: unknown } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: OpenAIUsageWire | null;
}

export interface OpenAIProviderOptions {
  readonly model: string;
  /** Defaults to `openai`; name OpenAI-compatible endpoints after themselves. */
  readonly name?: string | undefined;
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  /**
   * Which field carries `maxTokens`. OpenAI's own API wants
   * `max_completion_tokens` (reasoning models reject `max_tokens`); many
   * OpenAI-compatible servers only know `max_tokens`.
   */
  readonly maxTokensField?: 'max_completion_tokens' | 'max_tokens' | undefined;
}

function openaiToolChoice(choice: ToolChoice): OpenAIToolChoiceParam {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/** The neutral request in OpenAI's words. */
export function toOpenAIRequest(
  request: ChatRequest,
  model: string,
  options: Pick<OpenAIProviderOptions, 'maxTokensField'> = {},
): OpenAIChatBody {
  const messages: OpenAIMessageParam[] = [];
  if (request.system !== undefined && request.system !== '')
    messages.push({ role: 'system', content: request.system });
  for (const m of request.messages) {
    switch (m.role) {
      case 'user':
        messages.push({ role: 'user', content: m.content });
        break;
      case 'assistant': {
        const calls = m.toolCalls ?? [];
        if (calls.length === 0) {
          messages.push({ role: 'assistant', content: m.content });
          break;
        }
        messages.push({
          role: 'assistant',
          // OpenAI's own transcripts carry null, not '', beside tool calls.
          content: m.content === '' ? null : m.content,
          tool_calls: calls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: toolArgumentsText(c) },
          })),
        });
        break;
      }
      case 'tool':
        // Chat completions have no error flag on a tool result: say it in words the model reads.
        messages.push({
          role: 'tool',
          tool_call_id: m.toolCallId,
          content: m.isError ? `Error: ${m.content}` : m.content,
        });
        break;
    }
  }
  const body: OpenAIChatBody = { model, messages };
  const tools = resolveTools(request.tools, 'openai');
  if (tools && tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        parameters: { ...t.parameters },
      },
    }));
  }
  if (request.toolChoice !== undefined && (tools?.length ?? 0) > 0)
    body.tool_choice = openaiToolChoice(request.toolChoice);
  if (request.maxTokens !== undefined)
    body[options.maxTokensField ?? 'max_completion_tokens'] = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.stop !== undefined && request.stop.length > 0) body.stop = [...request.stop];
  return body;
}

function finishReason(reason: string | null | undefined, refused: boolean): FinishReason {
  if (refused) return 'refusal';
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

function usageOf(u: OpenAIUsageWire | null | undefined): Usage | undefined {
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    totalTokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens,
  };
}

/** An OpenAI chat completion in neutral form. */
export function fromOpenAIResponse(
  raw: unknown,
  provider: string,
  requestedModel: string,
  dependency = provider,
): ChatResponse {
  if (!isRecord(raw)) throw malformedResponse(dependency, 'not an object');
  const res = raw as OpenAICompletionWire;
  const choice = res.choices?.[0];
  if (!choice?.message) throw malformedResponse(dependency, 'no choice');
  const msg = choice.message;
  const toolCalls: ToolCall[] = [];
  for (const tc of msg.tool_calls ?? []) {
    if (tc.type !== undefined && tc.type !== 'function') continue;
    toolCalls.push(toolCallFromInput(toolCallIdOr(tc.id), tc.function?.name ?? '', tc.function?.arguments));
  }
  const refusal = typeof msg.refusal === 'string' && msg.refusal !== '' ? msg.refusal : undefined;
  const text = contentText(msg.content);
  const content = text ?? refusal ?? '';
  return {
    provider,
    model: res.model ?? requestedModel,
    ...responseId(res.id),
    message: { role: 'assistant', content, ...(toolCalls.length > 0 ? { toolCalls } : {}) },
    toolCalls,
    finishReason: finishReason(choice.finish_reason, refusal !== undefined && !text),
    usage: usageOf(res.usage),
  };
}

/**
 * A message's content as text. OpenAI sends a string; some compatible
 * servers send parts (`[{ type: 'text', text }]`): their text parts are
 * joined, other parts (images, audio) have no text to give.
 */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content) {
    if (typeof part === 'string') text += part;
    else if (
      isRecord(part) &&
      typeof part.text === 'string' &&
      (part.type === undefined || part.type === 'text')
    )
      text += part.text;
  }
  return text;
}

/** A vector as the SDK gives it (numbers), or as the wire does when asked for `base64` (little-endian float32). */
function vectorOf(v: unknown): number[] | undefined {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
  if (typeof v !== 'string') return undefined;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}

/** An OpenAI embeddings answer in neutral form: one vector per input, in input order. */
export function fromOpenAIEmbeddings(
  raw: unknown,
  provider: string,
  requestedModel: string,
  inputs: number,
  dependency = provider,
): EmbedResponse {
  if (!isRecord(raw) || !Array.isArray(raw.data)) throw malformedResponse(dependency, 'no embeddings');
  const embeddings: number[][] = new Array(inputs);
  for (const [i, item] of (raw.data as unknown[]).entries()) {
    if (!isRecord(item)) throw malformedResponse(dependency, 'an embedding is not an object');
    const at = typeof item.index === 'number' ? item.index : i;
    const vector = vectorOf(item.embedding);
    if (vector === undefined || !Number.isInteger(at) || at < 0 || at >= inputs)
      throw malformedResponse(dependency, 'an embedding is not a vector of an input');
    embeddings[at] = vector;
  }
  for (let i = 0; i < inputs; i++)
    if (embeddings[i] === undefined) throw malformedResponse(dependency, `no embedding for input ${i}`);
  const u = isRecord(raw.usage) ? raw.usage : undefined;
  const input = u?.prompt_tokens;
  const usage: EmbedUsage | undefined =
    typeof input === 'number'
      ? { inputTokens: input, totalTokens: typeof u?.total_tokens === 'number' ? u.total_tokens : input }
      : undefined;
  return {
    provider,
    model: typeof raw.model === 'string' && raw.model !== '' ? raw.model : requestedModel,
    embeddings,
    usage,
  };
}

/** The neutral embed request in OpenAI's words. */
export function toOpenAIEmbeddings(request: EmbedRequest, model: string): OpenAIEmbeddingsBody {
  const body: OpenAIEmbeddingsBody = {
    model,
    input: typeof request.input === 'string' ? request.input : [...request.input],
  };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  return body;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** OpenAI stream chunks as neutral chunks, ending with `finish`. */
export async function* fromOpenAIStream(
  stream: AsyncIterable<unknown>,
  provider: string,
  requestedModel: string,
  dependency: string,
  signal?: AbortSignal,
): AsyncGenerator<ChatChunk, void, undefined> {
  const asm = new Assembler();
  let model = requestedModel;
  let finish: string | null = null;
  let refused = false;
  let usage: Usage | undefined;
  let id: string | undefined;
  const ordinals = new Map<number, number>();
  const emit = (c: ChatChunk): ChatChunk => {
    asm.add(c);
    return c;
  };
  try {
    for await (const raw of stream) {
      if (!isRecord(raw)) continue;
      const chunk = raw as OpenAIChunkWire;
      if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
      id ??= responseId(chunk.id).id;
      usage = usageOf(chunk.usage) ?? usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta;
      const text = contentText(delta?.content);
      if (text !== undefined && text !== '') yield emit({ type: 'text', text });
      if (typeof delta?.refusal === 'string' && delta.refusal !== '') {
        refused = true;
        yield emit({ type: 'text', text: delta.refusal });
      }
      for (const tc of delta?.tool_calls ?? []) {
        const key = tc.index ?? 0;
        let index = ordinals.get(key);
        if (index === undefined) {
          index = ordinals.size;
          ordinals.set(key, index);
          yield emit({
            type: 'tool_call_start',
            index,
            id: typeof tc.id === 'string' && tc.id !== '' ? tc.id : freshToolCallId(),
            name: tc.function?.name ?? '',
          });
        }
        const args = tc.function?.arguments;
        // Text, as OpenAI streams it; an object, as some compatible servers send it whole.
        const delta = typeof args === 'string' ? args : isRecord(args) ? JSON.stringify(args) : '';
        if (delta !== '') yield emit({ type: 'tool_call_delta', index, argumentsDelta: delta });
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    throw providerError(err, true, dependency);
  }
  // The SDK ends the iteration quietly when its request is aborted.
  if (signal?.aborted) throw abortError(signal);
  if (finish === null) throw truncatedStream(dependency);
  if (usage) yield emit({ type: 'usage', usage });
  const reason = finishReason(finish, refused);
  yield { type: 'finish', finishReason: reason, response: asm.response(provider, model, reason, id) };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function requestOptions(options: ProviderCallOptions): OpenAIRequestOptions {
  // One retry loop only: ours. The SDK's would multiply every attempt by three.
  const o: OpenAIRequestOptions = { maxRetries: 0 };
  if (options.signal) o.signal = options.signal;
  if (options.timeoutMs !== undefined) o.timeout = Math.max(1, Math.ceil(options.timeoutMs));
  return o;
}

/**
 * A provider over the official `openai` client's chat completions (or any
 * OpenAI-compatible server through its `baseURL`). Give the client
 * breakwater's fetch so that a connect timeout is told from a read timeout:
 * `new OpenAI({ fetch: createClassifyingFetch({ connectTimeoutMs: 10_000 }), maxRetries: 0 })`.
 */
export function createOpenAIProvider(client: OpenAIClientLike, options: OpenAIProviderOptions): Provider {
  const name = options.name ?? 'openai';
  const model = options.model;
  const dependency = `${name}/${model}`;
  const embeddings = client.embeddings;
  const provider: Provider = {
    name,
    model,
    profile: options.profile,
    async chat(request, callOptions = {}) {
      const body = toOpenAIRequest(request, model, options);
      const raw = await guardCall(dependency, callOptions.signal, async () =>
        callWithHeaders(
          client.chat.completions.create(body, requestOptions(callOptions)),
          callOptions.onHeaders,
        ),
      );
      return fromOpenAIResponse(raw, name, model, dependency);
    },
    async *stream(request, callOptions = {}) {
      const body: OpenAIChatBody = {
        ...toOpenAIRequest(request, model, options),
        stream: true,
        stream_options: { include_usage: true },
      };
      const raw = await guardCall(dependency, callOptions.signal, async () =>
        callWithHeaders(
          client.chat.completions.create(body, requestOptions(callOptions)),
          callOptions.onHeaders,
        ),
      );
      if (!isAsyncIterable(raw)) throw malformedResponse(dependency, 'not a stream');
      yield* fromOpenAIStream(raw, name, model, dependency, callOptions.signal);
    },
  };
  if (embeddings === undefined || typeof embeddings.create !== 'function') return provider;
  return {
    ...provider,
    async embed(request, callOptions = {}) {
      const body = toOpenAIEmbeddings(request, model);
      const raw = await guardCall(dependency, callOptions.signal, async () =>
        callWithHeaders(embeddings.create(body, requestOptions(callOptions)), callOptions.onHeaders),
      );
      const inputs = typeof request.input === 'string' ? 1 : request.input.length;
      return fromOpenAIEmbeddings(raw, name, model, inputs, dependency);
    },
  };
}
