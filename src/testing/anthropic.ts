/**
 * A fake Anthropic messages server speaking the real wire format: JSON
 * `message` objects, named SSE events (`message_start` … `message_stop`, with
 * `ping`s), `error` events after HTTP 200, 529 overloaded, and Anthropic's
 * rate-limit headers.
 */
import { type FakeModel, type FakeModelOptions, startFakeModel } from './model-server.js';
import {
  type FakeReply,
  type FaultReplies,
  type RecordedRequest,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './scripted-server.js';
import { pieces, type Turn, wantsStream } from './turns.js';

export interface FakeToolUse {
  readonly id: string;
  readonly name: string;
  /** An object, as Anthropic sends it; anything else for servers that get it wrong. */
  readonly input: unknown;
}

const MODEL = 'claude-fake';

function message(content: unknown[], stopReason: string) {
  return {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model: MODEL,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 13, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

function ev(event: string, data: Record<string, unknown>): SseEvent {
  return { event, data: JSON.stringify({ type: event, ...data }) };
}

function start(): SseEvent[] {
  return [
    ev('message_start', {
      message: { ...message([], ''), stop_reason: null, usage: { input_tokens: 13, output_tokens: 1 } },
    }),
    ev('ping', {}),
  ];
}

function stop(reason: string): SseEvent[] {
  return [
    ev('message_delta', { delta: { stop_reason: reason, stop_sequence: null }, usage: { output_tokens: 5 } }),
    ev('message_stop', {}),
  ];
}

function errorEvent(type: string): SseEvent {
  return {
    event: 'error',
    data: JSON.stringify({ type: 'error', error: { type, message: 'Overloaded' } }),
  };
}

export interface AnthropicStreamFault {
  /** After this many text pieces, an `error` event arrives (after HTTP 200). 0: before any text. */
  readonly errorAfter?: number;
  readonly errorType?: string;
}

function errorBody(type: string, msg: string) {
  return { type: 'error', error: { type, message: msg } };
}

/** Replies in Anthropic's format. */
export const anthropicReplies = {
  text(text: string, delayMs?: number): FakeReply {
    return {
      kind: 'json',
      body: message([{ type: 'text', text }], 'end_turn'),
      ...(delayMs ? { delayMs } : {}),
    };
  },

  toolUse(calls: readonly FakeToolUse[], text?: string): FakeReply {
    const content: unknown[] = text ? [{ type: 'text', text }] : [];
    for (const c of calls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
    return { kind: 'json', body: message(content, 'tool_use') };
  },

  streamText(pieces: readonly string[], fault: AnthropicStreamFault = {}): FakeReply {
    const events: SseEvent[] = start();
    events.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    for (const [i, p] of pieces.entries()) {
      if (fault.errorAfter === i) {
        events.push(errorEvent(fault.errorType ?? 'overloaded_error'));
        return { kind: 'sse', events };
      }
      events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
    }
    events.push(ev('content_block_stop', { index: 0 }), ...stop('end_turn'));
    return { kind: 'sse', events };
  },

  streamToolUse(calls: readonly FakeToolUse[], text = 'Let me check.'): FakeReply {
    const events: SseEvent[] = start();
    events.push(
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
      ev('content_block_stop', { index: 0 }),
    );
    for (const [i, c] of calls.entries()) {
      const index = i + 1;
      const json = JSON.stringify(c.input);
      const half = Math.floor(json.length / 2);
      events.push(
        ev('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} },
        }),
        ev('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: json.slice(0, half) },
        }),
        ev('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: json.slice(half) },
        }),
        ev('content_block_stop', { index }),
      );
    }
    events.push(...stop('tool_use'));
    return { kind: 'sse', events };
  },

  error(
    status: number,
    type = 'api_error',
    headers: Record<string, string> = {},
    message = `fake error ${status}`,
  ): FakeReply {
    return { kind: 'json', status, headers, body: errorBody(type, message) };
  },

  /** HTTP 529, as Anthropic answers when it is overloaded. */
  overloaded(): FakeReply {
    return {
      kind: 'json',
      status: 529,
      headers: { 'x-should-retry': 'true' },
      body: errorBody('overloaded_error', 'Overloaded'),
    };
  },

  rateLimited(style: RetryAfterStyle, ms: number): FakeReply {
    return {
      kind: 'json',
      status: 429,
      headers: retryAfterHeaders(style, ms),
      body: errorBody('rate_limit_error', 'Number of requests has exceeded your rate limit'),
    };
  },
};

/** The rate-limit headers Anthropic sends with every answer, with room to spare. */
function rateLimitHeaders(): Record<string, string> {
  const soon = new Date(Date.now() + 60_000).toISOString();
  return {
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '49',
    'anthropic-ratelimit-requests-reset': soon,
    'anthropic-ratelimit-tokens-limit': '40000',
    'anthropic-ratelimit-tokens-remaining': '39000',
    'anthropic-ratelimit-tokens-reset': soon,
  };
}

const anthropicFaults: FaultReplies = {
  route: 'POST /v1/messages',
  error: (status) =>
    status === 529
      ? anthropicReplies.overloaded()
      : anthropicReplies.error(status, status >= 500 ? 'api_error' : 'invalid_request_error'),
  rateLimited: (style, ms) => anthropicReplies.rateLimited(style, ms),
  resetHeaders: 'anthropic-ratelimit-reset',
  // message_start, ping, content_block_start and the first delta.
  streamHead: 4,
};

/** A scripted turn in Anthropic's format, streamed if the request asked for a stream. */
export function anthropicTurn(turn: Turn, request: RecordedRequest): FakeReply {
  const stream = wantsStream(request);
  let reply: FakeReply;
  if ('toolCalls' in turn) {
    const calls = turn.toolCalls.map((c, i) => ({
      id: c.id ?? `toolu_${request.index + 1}_${i + 1}`,
      name: c.name,
      input: c.arguments,
    }));
    reply = stream
      ? anthropicReplies.streamToolUse(calls, turn.text)
      : anthropicReplies.toolUse(calls, turn.text);
  } else reply = stream ? anthropicReplies.streamText(pieces(turn.text)) : anthropicReplies.text(turn.text);
  // The model that answers is the one asked for, as the real APIs say.
  const model = (request.body as { model?: unknown } | undefined)?.model;
  if (reply.kind === 'json' && typeof model === 'string')
    reply = { ...reply, body: { ...(reply.body as Record<string, unknown>), model } };
  return reply.kind === 'json' || reply.kind === 'sse'
    ? { ...reply, headers: { ...rateLimitHeaders(), ...reply.headers } }
    : reply;
}

/**
 * A fake Anthropic messages server on 127.0.0.1 at a free port: give
 * `baseURL` to the `@anthropic-ai/sdk` client. It answers the scripted turns,
 * then echoes the last user message; `inject` gives its route a fault schedule.
 */
export function createFakeAnthropic(options: FakeModelOptions = {}): Promise<FakeModel> {
  return startFakeModel(
    {
      faults: anthropicFaults,
      baseURL: (url) => url,
      turn: anthropicTurn,
      notFound: (r) =>
        r.method !== 'POST' || r.path !== '/v1/messages'
          ? anthropicReplies.error(404, 'not_found_error')
          : undefined,
    },
    options,
  );
}
