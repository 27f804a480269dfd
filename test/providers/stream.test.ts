import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, isBreakwaterError } from '../../src/failure/index.js';
import {
  type ChatChunk,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
  StreamInterruptedError,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let openai: Fake;
let anthropic: Fake;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

function anthropicFirst(): Router {
  return createRouter({
    providers: [
      createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
      createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
    ],
    profile: quickProfile(),
  });
}

function openaiFirst(): Router {
  return createRouter({
    providers: [
      createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
      createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
    ],
    profile: quickProfile(),
  });
}

/** Reads a stream to its end, keeping what was handed over and how it ended. */
async function drain(stream: AsyncIterable<ChatChunk>): Promise<{ chunks: ChatChunk[]; error: unknown }> {
  const chunks: ChatChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

const textOf = (chunks: ChatChunk[]) => chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');

describe('streams', () => {
  it('yields neutral chunks from either provider, ending with the assembled answer', async () => {
    openai.enqueue(openaiReplies.streamText(['Hel', 'lo']));
    anthropic.enqueue(anthropicReplies.streamText(['Bon', 'jour']));
    for (const [router, text, provider] of [
      [openaiFirst(), 'Hello', 'openai'],
      [anthropicFirst(), 'Bonjour', 'anthropic'],
    ] as const) {
      const { chunks, error } = await drain(router.stream(hello));
      expect(error).toBeUndefined();
      expect(textOf(chunks)).toBe(text);
      const last = chunks[chunks.length - 1];
      expect(last?.type).toBe('finish');
      if (last?.type !== 'finish') return;
      expect(last.response.provider).toBe(provider);
      expect(last.response.message.content).toBe(text);
      expect(last.response.usage?.totalTokens).toBeGreaterThan(0);
      expect(chunks.some((c) => c.type === 'usage')).toBe(true);
    }
  });

  it('streams tool calls and assembles their arguments', async () => {
    openai.enqueue(
      openaiReplies.streamToolCalls([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }]),
    );
    anthropic.enqueue(
      anthropicReplies.streamToolUse([{ id: 'toolu_1', name: 'get_weather', input: { city: 'Rome' } }]),
    );
    for (const [router, id, city] of [
      [openaiFirst(), 'call_1', 'Paris'],
      [anthropicFirst(), 'toolu_1', 'Rome'],
    ] as const) {
      const { chunks } = await drain(router.stream(hello));
      expect(chunks.find((c) => c.type === 'tool_call_start')).toEqual({
        type: 'tool_call_start',
        index: 0,
        id,
        name: 'get_weather',
      });
      const last = chunks[chunks.length - 1];
      if (last?.type !== 'finish') throw new Error('no finish chunk');
      expect(last.finishReason).toBe('tool_calls');
      expect(last.response.toolCalls).toEqual([{ id, name: 'get_weather', arguments: { city } }]);
    }
  });

  it('fails over on a 529 before the first chunk, at once (another provider is free)', async () => {
    anthropic.respond(() => anthropicReplies.overloaded());
    openai.enqueue(openaiReplies.streamText(['from ', 'OpenAI']));
    const { chunks, error } = await drain(anthropicFirst().stream(hello));
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('from OpenAI');
    expect(anthropic.count).toBe(1);
    expect(openai.count).toBe(1);
  });

  it('retries an overloaded_error event that arrives after HTTP 200 but before any text (when asked to wait)', async () => {
    anthropic.enqueue(anthropicReplies.streamText(['never'], { errorAfter: 0 }));
    anthropic.enqueue(anthropicReplies.streamText(['second ', 'try']));
    const { chunks, error } = await drain(anthropicFirst().stream(hello, { waitForRetryAfter: true }));
    expect(error).toBeUndefined();
    expect(textOf(chunks)).toBe('second try');
    expect(anthropic.count).toBe(2);
    expect(openai.count).toBe(0);
  });

  it('ends with a typed error carrying the partial text when an error event follows the first chunk', async () => {
    anthropic.enqueue(anthropicReplies.streamText(['The answer ', 'is ', '42'], { errorAfter: 2 }));
    const router = anthropicFirst();
    const { chunks, error } = await drain(router.stream(hello));
    expect(textOf(chunks)).toBe('The answer is ');
    expect(error).toBeInstanceOf(StreamInterruptedError);
    const e = error as StreamInterruptedError;
    expect(e.partialText).toBe('The answer is ');
    expect(e.provider).toBe('anthropic');
    expect(e.failure.kind).toBe('overloaded');
    expect(e.failure.code).toBe('stream_overloaded_error');
    expect(e.message).not.toContain('The answer');
    // No retry and no failover once the caller holds part of an answer.
    expect(anthropic.count).toBe(1);
    expect(openai.count).toBe(0);
  });

  it('counts a mid-stream overload against the provider’s breaker', async () => {
    anthropic.enqueue(anthropicReplies.streamText(['Hi', ' there'], { errorAfter: 1 }));
    const router = createRouter({
      providers: [createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' })],
      profile: quickProfile({ breaker: { mode: 'consecutive', consecutiveFailures: 1 } }),
    });
    const { error } = await drain(router.stream(hello));
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(router.routes[0]!.policy.breaker!.state).toBe('open');
  });

  it('does the same for an OpenAI stream that breaks after its first chunk', async () => {
    openai.enqueue(openaiReplies.streamText(['Partial ', 'answer'], { errorAfter: 1 }));
    const { chunks, error } = await drain(openaiFirst().stream(hello));
    expect(textOf(chunks)).toBe('Partial ');
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).partialText).toBe('Partial ');
    expect(openai.count).toBe(1);
    expect(anthropic.count).toBe(0);
  });

  it('treats a stream cut off after its first chunk as interrupted, not finished', async () => {
    const cut = anthropicReplies.streamText(['Half']);
    if (cut.kind !== 'sse') throw new Error('expected a stream');
    // Everything up to the first text delta, then the connection drops.
    anthropic.enqueue({ ...cut, events: cut.events.slice(0, 4), end: 'destroy' });
    const { chunks, error } = await drain(anthropicFirst().stream(hello));
    expect(textOf(chunks)).toBe('Half');
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).failure.delivery).toBe('unknown');
    expect(openai.count).toBe(0);
  });

  it('closes the request when the caller stops reading early', async () => {
    const open = anthropicReplies.streamText(['one ', 'two']);
    if (open.kind !== 'sse') throw new Error('expected a stream');
    anthropic.enqueue({ ...open, events: open.events.slice(0, 4), end: 'hang' });
    for await (const c of anthropicFirst().stream(hello)) {
      expect(c).toEqual({ type: 'text', text: 'one ' });
      break;
    }
    await anthropic.until((rs) => rs[0]?.clientClosed === true);
  });
});

describe('a caller abort', () => {
  it('cancels the request in flight, and no other provider is tried', async () => {
    openai.enqueue({ kind: 'hang' });
    const ctrl = new AbortController();
    const pending = openaiFirst()
      .chat(hello, { signal: ctrl.signal })
      .catch((e: unknown) => e);
    await openai.until((rs) => rs.length === 1 && rs[0]!.body !== undefined);
    ctrl.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(CancelledError);
    await openai.until((rs) => rs[0]!.clientClosed);
    expect(anthropic.count).toBe(0);
  });

  it('cancels a stream mid-way with a typed error, and no other provider is tried', async () => {
    const open = openaiReplies.streamText(['first ', 'second']);
    if (open.kind !== 'sse') throw new Error('expected a stream');
    openai.enqueue({ ...open, events: open.events.slice(0, 2), end: 'hang' });
    const ctrl = new AbortController();
    const chunks: ChatChunk[] = [];
    let error: unknown;
    try {
      for await (const c of openaiFirst().stream(hello, { signal: ctrl.signal })) {
        chunks.push(c);
        ctrl.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(textOf(chunks)).toBe('first ');
    expect(isBreakwaterError(error, 'cancelled')).toBe(true);
    await openai.until((rs) => rs[0]!.clientClosed);
    expect(anthropic.count).toBe(0);
  });

  it('before the first chunk cancels the stream request too', async () => {
    openai.enqueue({ kind: 'hang' });
    const ctrl = new AbortController();
    const pending = drain(openaiFirst().stream(hello, { signal: ctrl.signal }));
    await openai.until((rs) => rs.length === 1 && rs[0]!.body !== undefined);
    ctrl.abort();
    const { chunks, error } = await pending;
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(CancelledError);
    await openai.until((rs) => rs[0]!.clientClosed);
    expect(anthropic.count).toBe(0);
  });
});
