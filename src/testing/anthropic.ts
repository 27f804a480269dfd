/**
 * A fake Anthropic messages server speaking the real wire format: JSON
 * `message` objects, named SSE events (`message_start` … `message_stop`, with
 * `ping`s), `error` events after HTTP 200, 529 overloaded, and Anthropic's
 * rate-limit headers.
 */
import {
  FakeHttpServer,
  type FakeReply,
  type RecordedRequest,
  type RetryAfterStyle,
  retryAfterHeaders,
  type SseEvent,
} from './scripted-server.js';

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

function isStream(r: RecordedRequest): boolean {
  return (r.body as { stream?: unknown } | undefined)?.stream === true;
}

/** Answers `ok` (or a stream of it) unless scripted otherwise. */
export async function createFakeAnthropic(): Promise<FakeHttpServer & { readonly baseURL: string }> {
  const server = await FakeHttpServer.start((r) => {
    if (r.method !== 'POST' || r.path !== '/v1/messages')
      return anthropicReplies.error(404, 'not_found_error');
    return isStream(r) ? anthropicReplies.streamText(['o', 'k']) : anthropicReplies.text('ok');
  });
  return Object.assign(server, { baseURL: server.url });
}
