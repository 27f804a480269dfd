/**
 * A fake OpenAI chat-completions server speaking the real wire format: JSON
 * `chat.completion` objects, SSE `chat.completion.chunk` streams ending in
 * `[DONE]`, and OpenAI's error bodies and rate-limit headers.
 */
import {
  FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './scripted-server.js';

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

function isStream(r: RecordedRequest): boolean {
  return (r.body as { stream?: unknown } | undefined)?.stream === true;
}

/** Answers `ok` (or a stream of it) unless scripted otherwise. */
export async function createFakeOpenAI(): Promise<FakeHttpServer & { readonly baseURL: string }> {
  const server = await FakeHttpServer.start((r) => {
    if (r.method !== 'POST' || r.path !== '/v1/chat/completions') return openaiReplies.error(404);
    return isStream(r) ? openaiReplies.streamText(['o', 'k']) : openaiReplies.text('ok');
  });
  return Object.assign(server, { baseURL: `${server.url}/v1` });
}
