import { Assembler, responseId } from '../../providers/assemble.js';
import { malformedResponse, truncatedStream } from '../../providers/failures.js';
import { freshToolCallId } from '../../providers/tool-ids.js';
import { isRecord, toolCallFromInput } from '../../providers/tools.js';
import type { ChatChunk, ChatResponse, FinishReason, ToolCall, Usage } from '../../providers/types.js';
import { aiSdkError, streamPartError } from './failures.js';
import type { AiSdkGenerateResultRead, AiSdkPartRead } from './spec.js';

/** The AI SDK's unified finish reason (`{ unified, raw }`) in neutral words. */
export function neutralFinishReason(reason: unknown): FinishReason {
  const unified = isRecord(reason) ? reason.unified : reason;
  switch (unified) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Specification usage (`{ inputTokens: { total }, outputTokens: { total } }`) in neutral form, when both totals are known. */
export function neutralUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = count(isRecord(usage.inputTokens) ? usage.inputTokens.total : usage.inputTokens);
  const output = count(isRecord(usage.outputTokens) ? usage.outputTokens.total : usage.outputTokens);
  if (input === undefined || output === undefined) return undefined;
  return { inputTokens: input, outputTokens: output, totalTokens: input + output };
}

/** A model-executed tool call: the provider ran it and answered it itself, so no one here has to. */
function clientToolCall(part: { readonly type?: unknown; readonly providerExecuted?: unknown }): boolean {
  return part.type === 'tool-call' && part.providerExecuted !== true;
}

/**
 * A `doGenerate` result in neutral form: its text parts joined, its tool
 * calls (those the client is to run), its finish reason and usage. Reasoning,
 * sources and files have no place in the neutral answer and are left out.
 */
export function fromAiSdkResult(
  raw: AiSdkGenerateResultRead,
  provider: string,
  requestedModel: string,
  dependency: string,
): ChatResponse {
  if (!isRecord(raw) || !Array.isArray(raw.content)) throw malformedResponse(dependency, 'no content');
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const part of raw.content as readonly unknown[]) {
    if (!isPart(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
    else if (clientToolCall(part))
      toolCalls.push(
        toolCallFromInput(
          typeof part.toolCallId === 'string' && part.toolCallId !== '' ? part.toolCallId : freshToolCallId(),
          typeof part.toolName === 'string' ? part.toolName : '',
          part.input,
        ),
      );
  }
  const model = raw.response?.modelId;
  return {
    provider,
    model: typeof model === 'string' && model !== '' ? model : requestedModel,
    ...responseId(raw.response?.id),
    message: { role: 'assistant', content: text, ...(toolCalls.length > 0 ? { toolCalls } : {}) },
    toolCalls,
    finishReason: neutralFinishReason(raw.finishReason),
    usage: neutralUsage(raw.usage),
  };
}

/** A part of a model's answer; its fields are checked one by one where they are read. */
function isPart(v: unknown): v is AiSdkPartRead {
  return isRecord(v) && typeof v.type === 'string';
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A `doStream` stream in neutral chunks, ending with `finish`. Tool calls are
 * streamed as they come (`tool-input-start` / `-delta`); a model that sends a
 * call only whole (`tool-call` with no input parts before it) has it sent as
 * one start and one delta. An `error` part ends the stream with that error,
 * classified; a stream that ends without `finish` was cut off.
 */
export async function* fromAiSdkStream(
  stream: ReadableStream<AiSdkPartRead>,
  provider: string,
  requestedModel: string,
  dependency: string,
  signal?: AbortSignal,
): AsyncGenerator<ChatChunk, void, undefined> {
  const asm = new Assembler();
  const ordinals = new Map<string, number>();
  let model = requestedModel;
  let id: string | undefined;
  let finish: FinishReason | undefined;
  let usage: Usage | undefined;
  const emit = (c: ChatChunk): ChatChunk => {
    asm.add(c);
    return c;
  };
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<AiSdkPartRead>;
      try {
        next = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw err;
        throw aiSdkError(err, true, dependency);
      }
      if (next.done) break;
      const part: unknown = next.value;
      if (!isPart(part)) continue;
      switch (part.type) {
        case 'text-delta':
          if (typeof part.delta === 'string' && part.delta !== '')
            yield emit({ type: 'text', text: part.delta });
          break;
        case 'tool-input-start': {
          if (part.providerExecuted === true || typeof part.id !== 'string') break;
          const index = ordinals.size;
          ordinals.set(part.id, index);
          yield emit({ type: 'tool_call_start', index, id: part.id, name: part.toolName ?? '' });
          break;
        }
        case 'tool-input-delta': {
          const index = typeof part.id === 'string' ? ordinals.get(part.id) : undefined;
          if (index !== undefined && typeof part.delta === 'string' && part.delta !== '')
            yield emit({ type: 'tool_call_delta', index, argumentsDelta: part.delta });
          break;
        }
        case 'tool-call': {
          if (!clientToolCall(part) || typeof part.toolCallId !== 'string') break;
          if (ordinals.has(part.toolCallId)) break;
          const index = ordinals.size;
          ordinals.set(part.toolCallId, index);
          yield emit({ type: 'tool_call_start', index, id: part.toolCallId, name: part.toolName ?? '' });
          const input = typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {});
          if (input !== '') yield emit({ type: 'tool_call_delta', index, argumentsDelta: input });
          break;
        }
        case 'response-metadata':
          if (typeof part.modelId === 'string' && part.modelId !== '') model = part.modelId;
          id ??= responseId(part.id).id;
          break;
        case 'finish':
          finish = neutralFinishReason(part.finishReason);
          usage = neutralUsage(part.usage);
          break;
        case 'error':
          throw streamPartError(part.error, dependency);
      }
    }
    done = true;
  } finally {
    // Left early (the caller stopped, or an error part): cancelling the stream closes the request.
    if (!done) void reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  // Some provider packages end the stream quietly when their request is aborted.
  if (signal?.aborted) throw abortError(signal);
  if (finish === undefined) throw truncatedStream(dependency);
  if (usage) yield emit({ type: 'usage', usage });
  yield { type: 'finish', finishReason: finish, response: asm.response(provider, model, finish, id) };
}
