import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { breakwaterMiddleware, createAiSdkProvider } from '../../../src/ai-sdk.js';
import { type BreakwaterError, isBreakwaterError } from '../../../src/failure/errors.js';
import type { ChatChunk } from '../../../src/providers/index.js';
import { anthropicReplies, startFakeAnthropic } from '../../fakes/anthropic-server.js';
import type { FakeReply } from '../../fakes/llm-http.js';
import { openaiReplies, startFakeOpenAI } from '../../fakes/openai-server.js';
import { hello, quickProfile } from '../../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let fake: Fake;
let claude: Fake;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  claude = await startFakeAnthropic();
});

afterEach(async () => {
  await Promise.all([fake.close(), claude.close()]);
});

function openaiModel(baseURL = fake.baseURL) {
  return createOpenAI({ baseURL, apiKey: 'sk-test-not-a-key' }).chat('gpt-test');
}

async function failureOf(p: Promise<unknown>): Promise<BreakwaterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isBreakwaterError(err)) throw new Error(`expected a breakwater error, got ${String(err)}`);
  return err;
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe('createAiSdkProvider: an AI SDK model as a breakwater provider', () => {
  it('answers in neutral form, with usage and the served model', async () => {
    fake.enqueue(openaiReplies.text('ok'));
    const res = await createAiSdkProvider(openaiModel()).chat(hello);
    expect(res).toMatchObject({
      provider: 'openai.chat',
      model: 'gpt-fake',
      id: 'chatcmpl-fake',
      message: { role: 'assistant', content: 'ok' },
      finishReason: 'stop',
      usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 },
    });
    expect(fake.requests[0]!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'Say ok.' },
      ],
    });
  });

  it.each([
    {
      name: 'a 429 with Retry-After: rate limited, not processed, the wait parsed',
      reply: openaiReplies.rateLimited('retry-after', 3_000),
      expected: { kind: 'rate_limited', delivery: 'not_processed', status: 429, retryAfterMs: 3_000 },
    },
    {
      name: 'a billing 429: refused (no wait cures it)',
      reply: openaiReplies.apiError(429, 'insufficient_quota', 'insufficient_quota'),
      expected: { kind: 'auth', code: 'insufficient_quota', shouldRetry: false },
    },
    {
      name: 'a context overflow: this model refused, not the caller',
      reply: openaiReplies.apiError(400, 'invalid_request_error', 'context_length_exceeded'),
      expected: { kind: 'client_error', code: 'context_length_exceeded', delivery: 'processed' },
    },
    {
      name: 'a 500: server error, delivery unknown',
      reply: openaiReplies.error(500),
      expected: { kind: 'server_error', delivery: 'unknown', status: 500 },
    },
  ])(
    'classifies $name, after exactly one request (the AI SDK does not retry doGenerate)',
    async ({ reply, expected }) => {
      fake.enqueue(reply);
      const err = await failureOf(createAiSdkProvider(openaiModel()).chat(hello));
      expect(err.failure).toMatchObject(expected);
      expect(err.dependency).toBe('openai.chat/gpt-test');
      expect(fake.count).toBe(1);
    },
  );

  it("classifies Anthropic's 529 through @ai-sdk/anthropic as overloaded", async () => {
    claude.enqueue(anthropicReplies.overloaded());
    const model = createAnthropic({ baseURL: `${claude.url}/v1`, apiKey: 'k' })('claude-test');
    const err = await failureOf(createAiSdkProvider(model).chat(hello));
    expect(err.failure).toMatchObject({ kind: 'overloaded', delivery: 'not_processed', status: 529 });
    expect(claude.count).toBe(1);
  });

  it('proves not_sent when the connection is refused', async () => {
    const closed = await startFakeOpenAI();
    await closed.close();
    const err = await failureOf(createAiSdkProvider(openaiModel(closed.baseURL)).chat(hello));
    expect(err.failure).toMatchObject({ kind: 'network', delivery: 'not_sent', code: 'ECONNREFUSED' });
  });

  it('streams text and tool calls as neutral chunks, ending with the assembled answer', async () => {
    fake.enqueue(
      openaiReplies.streamToolCalls([{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    const chunks = await collect(createAiSdkProvider(openaiModel()).stream(hello));
    expect(chunks.map((c) => c.type)).toEqual([
      'tool_call_start',
      'tool_call_delta',
      'tool_call_delta',
      'usage',
      'finish',
    ]);
    const finish = chunks.at(-1);
    expect(finish).toMatchObject({
      finishReason: 'tool_calls',
      response: { toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
    });
  });

  it("takes a model that streams tool calls only whole, and leaves provider-executed calls to the provider (ai/test's mock)", async () => {
    const parts: LanguageModelV3StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', id: 'resp_1', modelId: 'mock-2' },
      { type: 'tool-call', toolCallId: 'ws', toolName: 'web_search', input: '{}', providerExecuted: true },
      { type: 'tool-call', toolCallId: 'call_9', toolName: 'get_weather', input: '{"city":"Oslo"}' },
      {
        type: 'finish',
        finishReason: { unified: 'tool-calls', raw: 'tool_use' },
        usage: {
          inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 2, text: 2, reasoning: 0 },
        },
      },
    ];
    const model = new MockLanguageModelV3({
      provider: 'mock',
      modelId: 'mock-1',
      doStream: async () => ({
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(c) {
            for (const p of parts) c.enqueue(p);
            c.close();
          },
        }),
      }),
    });
    const chunks = await collect(createAiSdkProvider(model).stream(hello));
    expect(chunks.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'tool_calls',
      response: {
        provider: 'mock',
        model: 'mock-2',
        id: 'resp_1',
        message: {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: { city: 'Oslo' } }],
        },
        toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: { city: 'Oslo' } }],
        finishReason: 'tool_calls',
        usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
      },
    });
  });

  it('ends a stream whose error event arrives after HTTP 200 with the classified failure', async () => {
    fake.enqueue(openaiReplies.streamText(['a', 'b'], { errorAfter: 1, errorType: 'server_error' }));
    const err = await failureOf(collect(createAiSdkProvider(openaiModel()).stream(hello)));
    expect(err.failure).toMatchObject({ kind: 'server_error', code: 'stream_server_error' });
  });

  it('hands the response headers to onHeaders, on success, on a stream and on a 429', async () => {
    const limits = { 'x-ratelimit-remaining-requests': '41', 'x-ratelimit-remaining-tokens': '9000' };
    const withLimits = (reply: FakeReply): FakeReply =>
      reply.kind === 'json' || reply.kind === 'sse' ? { ...reply, headers: limits } : reply;
    fake.enqueue(
      withLimits(openaiReplies.text('ok')),
      withLimits(openaiReplies.streamText(['o', 'k'])),
      openaiReplies.rateLimited('x-ratelimit-reset', 2_000),
    );
    const seen: Array<string | null> = [];
    const onHeaders = (h: Headers) => seen.push(h.get('x-ratelimit-remaining-requests'));
    const provider = createAiSdkProvider(openaiModel());
    await provider.chat(hello, { onHeaders });
    await collect(provider.stream(hello, { onHeaders }));
    await failureOf(provider.chat(hello, { onHeaders }));
    expect(seen).toEqual(['41', '41', '0']);
  });

  it('aborts the request when the caller aborts', async () => {
    fake.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const call = createAiSdkProvider(openaiModel()).chat(hello, { signal: controller.signal });
    await fake.until((r) => r.length === 1);
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow();
    await fake.until((r) => r[0]!.clientClosed);
  });
});

describe('breakwaterMiddleware: the policy around one AI SDK model', () => {
  it('retries a failed generate under the policy, not the AI SDK', async () => {
    fake.enqueue(openaiReplies.error(500), openaiReplies.text('ok'));
    const model = wrapLanguageModel({
      model: openaiModel(),
      middleware: breakwaterMiddleware({ profile: quickProfile() }),
    });
    const result = await generateText({ model, prompt: 'Say ok.', maxRetries: 0 });
    expect(result.text).toBe('ok');
    expect(fake.count).toBe(2);
  });

  it('gives up with the classified failure when the attempts run out', async () => {
    fake.respond(() => openaiReplies.error(500));
    const model = wrapLanguageModel({
      model: openaiModel(),
      middleware: breakwaterMiddleware({ profile: quickProfile() }),
    });
    const err = await failureOf(generateText({ model, prompt: 'Say ok.' }));
    expect(err.failure).toMatchObject({ kind: 'server_error', status: 500 });
    expect(err.attempts).toHaveLength(2);
    // The AI SDK's default maxRetries (2) adds nothing: breakwater errors are not its to retry.
    expect(fake.count).toBe(2);
  });

  it('retries a stream that fails before its first part, then hands the stream over', async () => {
    fake.enqueue(
      openaiReplies.error(503),
      openaiReplies.streamText(['x'], { errorAfter: 0 }),
      openaiReplies.streamText(['o', 'k']),
    );
    const model = wrapLanguageModel({
      model: openaiModel(),
      middleware: breakwaterMiddleware({ profile: quickProfile({ retry: { maxAttempts: 3 } }) }),
    });
    const result = streamText({ model, prompt: 'Say ok.', maxRetries: 0 });
    expect(await result.text).toBe('ok');
    expect(fake.count).toBe(3);
  });

  it('retries a stream whose error event comes before any text (@ai-sdk/anthropic)', async () => {
    claude.enqueue(
      anthropicReplies.streamText(['x'], { errorAfter: 0, errorType: 'overloaded_error' }),
      anthropicReplies.streamText(['o', 'k']),
    );
    const model = wrapLanguageModel({
      model: createAnthropic({ baseURL: `${claude.url}/v1`, apiKey: 'k' })('claude-test'),
      middleware: breakwaterMiddleware({ profile: quickProfile() }),
    });
    const errors: unknown[] = [];
    const result = streamText({
      model,
      prompt: 'Say ok.',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    expect(await result.text).toBe('ok');
    expect(errors).toEqual([]);
    expect(claude.count).toBe(2);
  });

  it('does not retry once the stream has been handed over', async () => {
    fake.enqueue(openaiReplies.streamText(['a', 'b', 'c'], { errorAfter: 2 }));
    const model = wrapLanguageModel({
      model: openaiModel(),
      middleware: breakwaterMiddleware({ profile: quickProfile({ retry: { maxAttempts: 3 } }) }),
    });
    const errors: unknown[] = [];
    const result = streamText({
      model,
      prompt: 'Say ok.',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const text = await result.text;
    expect(text).toBe('ab');
    expect(errors).toHaveLength(1);
    expect(fake.count).toBe(1);
  });

  it('keeps a breaker per model: one failing model does not open another', async () => {
    const other = await startFakeOpenAI();
    try {
      const middleware = breakwaterMiddleware({
        profile: quickProfile({
          retry: { maxAttempts: 1 },
          breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 60_000 },
        }),
      });
      fake.respond(() => openaiReplies.error(500));
      const failing = wrapLanguageModel({ model: openaiModel(), middleware });
      const healthy = wrapLanguageModel({
        model: createOpenAI({ baseURL: other.baseURL, apiKey: 'k' }).chat('gpt-other'),
        middleware,
      });
      for (let i = 0; i < 2; i++)
        await failureOf(generateText({ model: failing, prompt: 'x', maxRetries: 0 }));
      const open = await failureOf(generateText({ model: failing, prompt: 'x', maxRetries: 0 }));
      expect(open.code).toBe('circuit_open');
      expect(fake.count).toBe(2);
      expect((await generateText({ model: healthy, prompt: 'x', maxRetries: 0 })).text).toBe('ok');
    } finally {
      await other.close();
    }
  });
});
