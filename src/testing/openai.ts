/**
 * A fake OpenAI chat-completions server speaking the real wire format: JSON
 * `chat.completion` objects, SSE `chat.completion.chunk` streams ending in
 * `[DONE]`, `/v1/embeddings` lists (floats or base64, as the request asks),
 * and OpenAI's error bodies and rate-limit headers.
 */

import { type FakeModel, type FakeModelOptions, startFakeModel } from './model-server.js';
import {
  type FakeReply,
  type FaultReplies,
  type RecordedRequest,
  type Responder,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './scripted-server.js';
import { pieces, type Turn, wantsStream } from './turns.js';

export interface FakeToolCall {
  /** Left out, as some OpenAI-compatible servers do. */
  readonly id?: string;
  readonly name: string;
  /** An object (sent as JSON text) or the exact text to send. */
  readonly arguments: Readonly<Record<string, unknown>> | string;
}

const MODEL = 'gpt-fake';
const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

function argsText(a: FakeToolCall['arguments']): string {
  return typeof a === 'string' ? a : JSON.stringify(a);
}

function completion(message: Record<string, unknown>, finish: string, model = MODEL) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, finish_reason: finish }],
    usage: USAGE,
  };
}

function chunk(delta: Record<string, unknown>, finish: string | null = null): SseEvent {
  return {
    data: JSON.stringify({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: MODEL,
      choices: [{ index: 0, delta, finish_reason: finish }],
    }),
  };
}

const usageChunk: SseEvent = {
  data: JSON.stringify({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: MODEL,
    choices: [],
    usage: USAGE,
  }),
};

const DONE: SseEvent = { data: '[DONE]' };

const EMBEDDING_MODEL = 'text-embedding-fake';

export interface FakeEmbeddingsOptions {
  /** The `model` of the answer. Default: the one the request asked for. */
  readonly model?: string;
  /** `usage.prompt_tokens` (and `total_tokens`). Default: the inputs' characters over four. */
  readonly promptTokens?: number;
  /** Wait this long (real ms) before answering. */
  readonly delayMs?: number;
}

function embeddingInputs(request: RecordedRequest): string[] {
  const input = (request.body as { input?: unknown } | undefined)?.input;
  if (typeof input === 'string') return [input];
  return Array.isArray(input) ? input.filter((t): t is string => typeof t === 'string') : [];
}

/** A vector as OpenAI sends it for `encoding_format: 'base64'`: little-endian float32, base64. */
function base64Vector(v: readonly number[]): string {
  const bytes = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) bytes.writeFloatLE(x, i * 4);
  return bytes.toString('base64');
}

/**
 * The default vector of an input: its length, its index, then 0.5 up to the
 * requested `dimensions` (3 without); every value exact in float32, so
 * base64 and float answers read the same.
 */
function defaultVector(text: string, index: number, dimensions: unknown): number[] {
  const n = typeof dimensions === 'number' && dimensions >= 2 ? dimensions : 3;
  return [text.length, index, ...new Array<number>(n - 2).fill(0.5)];
}

export interface OpenAIStreamFault {
  /** After this many text pieces, an error object arrives in the stream (after HTTP 200). */
  readonly errorAfter?: number;
  readonly errorType?: string;
}

/** Replies in OpenAI's format. */
export const openaiReplies = {
  text(text: string, delayMs?: number): FakeReply {
    return { kind: 'json', body: completion({ content: text }, 'stop'), ...(delayMs ? { delayMs } : {}) };
  },

  toolCalls(calls: readonly FakeToolCall[], text: string | null = null): FakeReply {
    return {
      kind: 'json',
      body: completion(
        {
          content: text,
          tool_calls: calls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: argsText(c.arguments) },
          })),
        },
        'tool_calls',
      ),
    };
  },

  streamText(pieces: readonly string[], fault: OpenAIStreamFault = {}): FakeReply {
    const events: SseEvent[] = [chunk({ role: 'assistant', content: '' })];
    for (const [i, p] of pieces.entries()) {
      if (fault.errorAfter === i) {
        events.push({
          data: JSON.stringify({
            error: { message: 'The server had an error', type: fault.errorType ?? 'server_error' },
          }),
        });
        return { kind: 'sse', events };
      }
      events.push(chunk({ content: p }));
    }
    events.push(chunk({}, 'stop'), usageChunk, DONE);
    return { kind: 'sse', events };
  },

  streamToolCalls(calls: readonly FakeToolCall[]): FakeReply {
    const events: SseEvent[] = [chunk({ role: 'assistant', content: null })];
    for (const [index, c] of calls.entries()) {
      events.push(
        chunk({
          tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }],
        }),
      );
      const text = argsText(c.arguments);
      const half = Math.floor(text.length / 2);
      for (const part of [text.slice(0, half), text.slice(half)])
        events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
    }
    events.push(chunk({}, 'tool_calls'), usageChunk, DONE);
    return { kind: 'sse', events };
  },

  error(status: number, headers: Record<string, string> = {}, type = 'server_error'): FakeReply {
    return {
      kind: 'json',
      status,
      headers,
      body: { error: { message: `fake error ${status}`, type, param: null, code: null } },
    };
  },

  /** An error body with OpenAI's own type and code, e.g. 429 `insufficient_quota`, 401 `invalid_api_key`. */
  apiError(status: number, type: string, code: string | null, message = `fake error ${status}`): FakeReply {
    return { kind: 'json', status, body: { error: { message, type, param: null, code } } };
  },

  /** A completion whose message is exactly `message` (content as parts, arguments as objects, ...). */
  rawMessage(message: Record<string, unknown>, finish = 'stop'): FakeReply {
    return { kind: 'json', body: completion(message, finish) };
  },

  /**
   * An `/v1/embeddings` answer: `vectors[i]` for the i-th input (default: a
   * vector made from the input, see the fake's docs), encoded as the request
   * asks (`encoding_format: 'base64'`, which the `openai` SDK asks for by
   * default, or floats), with `usage`.
   */
  embeddings(vectors?: readonly (readonly number[])[], options: FakeEmbeddingsOptions = {}): Responder {
    return (request) => {
      const body = request.body as
        | { model?: unknown; encoding_format?: unknown; dimensions?: unknown }
        | undefined;
      const inputs = embeddingInputs(request);
      const base64 = body?.encoding_format === 'base64';
      const list = vectors ?? inputs.map((t, i) => defaultVector(t, i, body?.dimensions));
      const chars = inputs.reduce((n, t) => n + t.length, 0);
      const tokens = options.promptTokens ?? Math.ceil(chars / 4);
      const model = options.model ?? (typeof body?.model === 'string' ? body.model : EMBEDDING_MODEL);
      return {
        kind: 'json',
        body: {
          object: 'list',
          data: list.map((v, index) => ({
            object: 'embedding',
            index,
            embedding: base64 ? base64Vector(v) : [...v],
          })),
          model,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        },
        ...(options.delayMs ? { delayMs: options.delayMs } : {}),
      };
    };
  },

  rateLimited(style: RetryAfterStyle, ms: number): FakeReply {
    return {
      kind: 'json',
      status: 429,
      headers: retryAfterHeaders(style, ms),
      body: {
        error: {
          message: 'Rate limit reached',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
      },
    };
  },
};

/** The rate-limit headers OpenAI sends with every answer, with room to spare. */
const RATE_LIMIT_HEADERS: Readonly<Record<string, string>> = {
  'x-ratelimit-limit-requests': '500',
  'x-ratelimit-remaining-requests': '499',
  'x-ratelimit-reset-requests': '120ms',
  'x-ratelimit-limit-tokens': '30000',
  'x-ratelimit-remaining-tokens': '29000',
  'x-ratelimit-reset-tokens': '2s',
};

const openaiFaults: FaultReplies = {
  route: 'POST /v1/chat/completions',
  error: (status) => openaiReplies.error(status),
  rateLimited: (style, ms) => openaiReplies.rateLimited(style, ms),
  resetHeaders: 'x-ratelimit-reset',
  // The role chunk and the first piece of content.
  streamHead: 2,
};

/** A scripted turn in OpenAI's format, streamed if the request asked for a stream. */
export function openaiTurn(turn: Turn, request: RecordedRequest): FakeReply {
  const stream = wantsStream(request);
  let reply: FakeReply;
  if ('toolCalls' in turn) {
    const calls = turn.toolCalls.map((c, i) => ({ ...c, id: c.id ?? `call_${request.index + 1}_${i + 1}` }));
    reply = stream ? openaiReplies.streamToolCalls(calls) : openaiReplies.toolCalls(calls, turn.text ?? null);
  } else reply = stream ? openaiReplies.streamText(pieces(turn.text)) : openaiReplies.text(turn.text);
  // The model that answers is the one asked for, as the real APIs say.
  const model = (request.body as { model?: unknown } | undefined)?.model;
  if (reply.kind === 'json' && typeof model === 'string')
    reply = { ...reply, body: { ...(reply.body as Record<string, unknown>), model } };
  return reply.kind === 'json' || reply.kind === 'sse'
    ? { ...reply, headers: { ...RATE_LIMIT_HEADERS, ...reply.headers } }
    : reply;
}

/**
 * A fake OpenAI chat-completions server on 127.0.0.1 at a free port: give
 * `baseURL` to the `openai` client. It answers the scripted turns, then echoes
 * the last user message; `inject` gives its route a fault schedule (name the
 * route `POST /v1/embeddings` for embeddings). `/v1/embeddings` answers one
 * vector per input (`openaiReplies.embeddings()`), or what `enqueue` scripts.
 */
export function createFakeOpenAI(options: FakeModelOptions = {}): Promise<FakeModel> {
  return startFakeModel(
    {
      faults: openaiFaults,
      baseURL: (url) => `${url}/v1`,
      turn: openaiTurn,
      notFound: (r) => {
        if (r.method === 'POST' && r.path === '/v1/embeddings') {
          const reply = openaiReplies.embeddings()(r);
          return reply.kind === 'json' ? { ...reply, headers: RATE_LIMIT_HEADERS } : reply;
        }
        return r.method !== 'POST' || r.path !== '/v1/chat/completions'
          ? openaiReplies.error(404)
          : undefined;
      },
    },
    options,
  );
}
