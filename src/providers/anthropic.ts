import type { BuiltinProfileName, Profile, ProfileInput } from '../policy/profile.js';
import { Assembler, responseId } from './assemble.js';
import { guardCall, malformedResponse, providerError, truncatedStream } from './failures.js';
import { callWithHeaders } from './response-headers.js';
import { anthropicToolId, toolCallIdOr } from './tool-ids.js';
import { duplicateToolCallId, isRecord, resolveTools, toolCallFromInput } from './tools.js';
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  FinishReason,
  Provider,
  ProviderCallOptions,
  ToolCall,
  ToolChoice,
  Usage,
} from './types.js';

/*
 * The part of the Anthropic messages wire format we write and read, declared
 * here so that no particular SDK version's types are required (see openai.ts).
 */

export type AnthropicBlockParam =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: { [key: string]: unknown } }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

export interface AnthropicMessageParam {
  role: 'user' | 'assistant';
  content: AnthropicBlockParam[];
}

export interface AnthropicToolParam {
  name: string;
  description?: string;
  input_schema: { type: 'object'; [key: string]: unknown };
}

export type AnthropicToolChoiceParam =
  | { type: 'auto' }
  | { type: 'any' }
  | { type: 'none' }
  | { type: 'tool'; name: string };

export interface AnthropicBody {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: string;
  tools?: AnthropicToolParam[];
  tool_choice?: AnthropicToolChoiceParam;
  temperature?: number;
  stop_sequences?: string[];
  stream?: boolean;
}

export interface AnthropicRequestOptions {
  signal?: AbortSignal;
  maxRetries?: number;
  timeout?: number;
}

/** What `createAnthropicProvider` needs of a client: `new Anthropic(…)` fits. */
export interface AnthropicClientLike {
  messages: {
    create(body: AnthropicBody, options?: AnthropicRequestOptions): PromiseLike<unknown>;
  };
}

interface AnthropicUsageWire {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

interface AnthropicMessageWire {
  id?: unknown;
  model?: string;
  content?: Array<{ type?: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason?: string | null;
  usage?: AnthropicUsageWire;
}

type AnthropicEventWire =
  | { type: 'message_start'; message?: AnthropicMessageWire }
  | {
      type: 'content_block_start';
      index?: number;
      content_block?: { type?: string; text?: string; id?: string; name?: string };
    }
  | {
      type: 'content_block_delta';
      index?: number;
      delta?: { type?: string; text?: string; partial_json?: string };
    }
  | { type: 'content_block_stop'; index?: number }
  | { type: 'message_delta'; delta?: { stop_reason?: string | null }; usage?: AnthropicUsageWire }
  | { type: 'message_stop' };

export interface AnthropicProviderOptions {
  readonly model: string;
  /** Defaults to `anthropic`. */
  readonly name?: string | undefined;
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  /** Anthropic requires a limit on every request; used when the request sets none. Default 4096. */
  readonly defaultMaxTokens?: number | undefined;
}

function anthropicToolChoice(choice: ToolChoice): AnthropicToolChoiceParam {
  switch (choice) {
    case 'auto':
      return { type: 'auto' };
    case 'none':
      return { type: 'none' };
    case 'required':
      return { type: 'any' };
    default:
      return { type: 'tool', name: choice.name };
  }
}

/**
 * Anthropic wants strictly alternating turns, tool results inside a user
 * turn, and no empty text. Consecutive turns of one role are merged, with
 * tool results first in a user turn, as the API requires.
 */
function mergeTurns(turns: AnthropicMessageParam[]): AnthropicMessageParam[] {
  const out: AnthropicMessageParam[] = [];
  for (const t of turns) {
    if (t.content.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === t.role) last.content.push(...t.content);
    else out.push({ role: t.role, content: [...t.content] });
  }
  for (const t of out) {
    if (t.role !== 'user') continue;
    const results = t.content.filter((b) => b.type === 'tool_result');
    if (results.length > 0 && results.length < t.content.length)
      t.content = [...results, ...t.content.filter((b) => b.type !== 'tool_result')];
  }
  return out;
}

/** The neutral request in Anthropic's words. */
export function toAnthropicRequest(
  request: ChatRequest,
  model: string,
  options: Pick<AnthropicProviderOptions, 'defaultMaxTokens'> = {},
): AnthropicBody {
  const turns: AnthropicMessageParam[] = [];
  // Anthropic refuses a request whose tool_use ids repeat; say which one, before sending it.
  const seen = new Set<string>();
  for (const [i, m] of request.messages.entries()) {
    switch (m.role) {
      case 'user':
        turns.push({ role: 'user', content: m.content === '' ? [] : [{ type: 'text', text: m.content }] });
        break;
      case 'assistant': {
        const content: AnthropicBlockParam[] = [];
        if (m.content !== '') content.push({ type: 'text', text: m.content });
        for (const [j, c] of (m.toolCalls ?? []).entries()) {
          const id = anthropicToolId(c.id);
          if (seen.has(id)) throw duplicateToolCallId(`messages[${i}].toolCalls[${j}].id`, c.id);
          seen.add(id);
          content.push({ type: 'tool_use', id, name: c.name, input: { ...c.arguments } });
        }
        turns.push({ role: 'assistant', content });
        break;
      }
      case 'tool':
        turns.push({
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: anthropicToolId(m.toolCallId),
              content: m.content,
              ...(m.isError ? { is_error: true } : {}),
            },
          ],
        });
        break;
    }
  }
  const body: AnthropicBody = {
    model,
    max_tokens: request.maxTokens ?? options.defaultMaxTokens ?? 4096,
    messages: mergeTurns(turns),
  };
  if (request.system !== undefined && request.system !== '') body.system = request.system;
  const tools = resolveTools(request.tools, 'anthropic');
  if (tools && tools.length > 0) {
    body.tools = tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: { ...t.parameters, type: 'object' },
    }));
    if (request.toolChoice !== undefined) body.tool_choice = anthropicToolChoice(request.toolChoice);
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = [...request.stop];
  return body;
}

function finishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'refusal';
    default:
      return 'other';
  }
}

function n(v: number | null | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Anthropic counts cached input apart; the neutral figure is every input token. */
function inputTokens(u: AnthropicUsageWire): number {
  return n(u.input_tokens) + n(u.cache_creation_input_tokens) + n(u.cache_read_input_tokens);
}

function usageOf(u: AnthropicUsageWire | undefined): Usage | undefined {
  if (!u || typeof u.input_tokens !== 'number') return undefined;
  const input = inputTokens(u);
  const output = n(u.output_tokens);
  return { inputTokens: input, outputTokens: output, totalTokens: input + output };
}

/** An Anthropic message in neutral form. */
export function fromAnthropicResponse(
  raw: unknown,
  provider: string,
  requestedModel: string,
  dependency = provider,
): ChatResponse {
  if (!isRecord(raw) || !Array.isArray(raw.content)) throw malformedResponse(dependency, 'no content');
  const res = raw as AnthropicMessageWire;
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of res.content ?? []) {
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use')
      toolCalls.push(toolCallFromInput(toolCallIdOr(block.id), block.name ?? '', block.input));
  }
  return {
    provider,
    model: res.model ?? requestedModel,
    ...responseId(res.id),
    message: { role: 'assistant', content: text, ...(toolCalls.length > 0 ? { toolCalls } : {}) },
    toolCalls,
    finishReason: finishReason(res.stop_reason),
    usage: usageOf(res.usage),
  };
}

/** Anthropic stream events as neutral chunks, ending with `finish`. */
export async function* fromAnthropicStream(
  stream: AsyncIterable<unknown>,
  provider: string,
  requestedModel: string,
  dependency: string,
  signal?: AbortSignal,
): AsyncGenerator<ChatChunk, void, undefined> {
  const asm = new Assembler();
  let model = requestedModel;
  let stop: string | null | undefined;
  let stopped = false;
  let id: string | undefined;
  let startUsage: AnthropicUsageWire | undefined;
  let outputTokens: number | undefined;
  // Content-block index → tool-call ordinal: text blocks take indexes too.
  const toolIndex = new Map<number, number>();
  const emit = (c: ChatChunk): ChatChunk => {
    asm.add(c);
    return c;
  };
  try {
    for await (const raw of stream) {
      if (!isRecord(raw) || typeof raw.type !== 'string') continue;
      const ev = raw as AnthropicEventWire;
      switch (ev.type) {
        case 'message_start':
          if (typeof ev.message?.model === 'string') model = ev.message.model;
          id = responseId(ev.message?.id).id;
          startUsage = ev.message?.usage;
          break;
        case 'content_block_start': {
          const block = ev.content_block;
          if (block?.type === 'tool_use') {
            const index = toolIndex.size;
            toolIndex.set(ev.index ?? 0, index);
            yield emit({
              type: 'tool_call_start',
              index,
              id: toolCallIdOr(block.id),
              name: block.name ?? '',
            });
          } else if (block?.type === 'text' && typeof block.text === 'string' && block.text !== '') {
            yield emit({ type: 'text', text: block.text });
          }
          break;
        }
        case 'content_block_delta': {
          const d = ev.delta;
          if (d?.type === 'text_delta' && typeof d.text === 'string' && d.text !== '')
            yield emit({ type: 'text', text: d.text });
          else if (
            d?.type === 'input_json_delta' &&
            typeof d.partial_json === 'string' &&
            d.partial_json !== ''
          ) {
            const index = toolIndex.get(ev.index ?? 0);
            if (index !== undefined)
              yield emit({ type: 'tool_call_delta', index, argumentsDelta: d.partial_json });
          }
          break;
        }
        case 'message_delta':
          if (ev.delta?.stop_reason !== undefined) stop = ev.delta.stop_reason;
          if (typeof ev.usage?.output_tokens === 'number') outputTokens = ev.usage.output_tokens;
          break;
        case 'message_stop':
          stopped = true;
          break;
        default:
          break;
      }
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    throw providerError(err, true, dependency);
  }
  // The SDK ends the iteration quietly when its request is aborted.
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
  if (!stopped) throw truncatedStream(dependency);
  if (startUsage && typeof startUsage.input_tokens === 'number') {
    const input = inputTokens(startUsage);
    const output = outputTokens ?? n(startUsage.output_tokens);
    yield emit({
      type: 'usage',
      usage: { inputTokens: input, outputTokens: output, totalTokens: input + output },
    });
  }
  const reason = finishReason(stop);
  yield { type: 'finish', finishReason: reason, response: asm.response(provider, model, reason, id) };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function requestOptions(options: ProviderCallOptions): AnthropicRequestOptions {
  // One retry loop only: ours. An explicit timeout also keeps the SDK from
  // refusing a large non-streaming `max_tokens` with its own estimate.
  const o: AnthropicRequestOptions = { maxRetries: 0, timeout: 600_000 };
  if (options.signal) o.signal = options.signal;
  if (options.timeoutMs !== undefined) o.timeout = Math.max(1, Math.ceil(options.timeoutMs));
  return o;
}

/**
 * A provider over the official `@anthropic-ai/sdk` client's messages API.
 * Give the client breakwater's fetch so that a connect timeout is told from a
 * read timeout: `new Anthropic({ fetch: createClassifyingFetch({ connectTimeoutMs: 10_000 }), maxRetries: 0 })`.
 */
export function createAnthropicProvider(
  client: AnthropicClientLike,
  options: AnthropicProviderOptions,
): Provider {
  const name = options.name ?? 'anthropic';
  const model = options.model;
  const dependency = `${name}/${model}`;
  return {
    name,
    model,
    profile: options.profile,
    async chat(request, callOptions = {}) {
      const body = toAnthropicRequest(request, model, options);
      const raw = await guardCall(dependency, callOptions.signal, async () =>
        callWithHeaders(client.messages.create(body, requestOptions(callOptions)), callOptions.onHeaders),
      );
      return fromAnthropicResponse(raw, name, model, dependency);
    },
    async *stream(request, callOptions = {}) {
      const body: AnthropicBody = { ...toAnthropicRequest(request, model, options), stream: true };
      const raw = await guardCall(dependency, callOptions.signal, async () =>
        callWithHeaders(client.messages.create(body, requestOptions(callOptions)), callOptions.onHeaders),
      );
      if (!isAsyncIterable(raw)) throw malformedResponse(dependency, 'not a stream');
      yield* fromAnthropicStream(raw, name, model, dependency, callOptions.signal);
    },
  };
}
