import { SpanStatusCode } from '@opentelemetry/api';
import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/policy/index.js';
import {
  type ChatChunk,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
  StreamInterruptedError,
} from '../../src/providers/index.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { installOtel } from '../fakes/otel.js';
import { connect, redisOrSkip, testPrefix } from '../fakes/redis.js';
import { anthropicClient, hello, openaiClient, quickProfile } from '../providers/helpers.js';

type AnthropicFake = Awaited<ReturnType<typeof startFakeAnthropic>>;
type OpenAIFake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let otel: ReturnType<typeof installOtel>;
let anthropic: AnthropicFake;
let openai: OpenAIFake;

beforeEach(async () => {
  otel = installOtel();
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
});
afterEach(async () => {
  await otel.uninstall();
  await anthropic.close();
  await openai.close();
});

/** Reads a stream to its end; the chunks, and the error it ended with. */
async function drain(s: AsyncIterable<ChatChunk>, afterFirst?: () => void) {
  const chunks: ChatChunk[] = [];
  try {
    for await (const c of s) {
      chunks.push(c);
      if (chunks.length === 1) afterFirst?.();
    }
    return { chunks, error: undefined as unknown };
  } catch (error) {
    return { chunks, error };
  }
}

function routerOf(profile = quickProfile({ breaker: { windowMs: 60_000 } })): Router {
  return createRouter({
    providers: [
      createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
      createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
    ],
    profile,
    telemetry: createTelemetry(),
  });
}

describe('a stream that breaks after its first chunk', () => {
  it('is an error on the route and chat spans, which end with the stream, not at the first chunk', async () => {
    anthropic.enqueue(anthropicReplies.streamText(['The answer ', 'is ', '42'], { errorAfter: 2 }));
    let endedAtFirstChunk: string[] = [];
    const { error } = await drain(routerOf().stream(hello), () => {
      endedAtFirstChunk = otel.spans().map((s) => s.name);
    });
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(endedAtFirstChunk).not.toContain('breakwater.route stream');
    expect(endedAtFirstChunk).not.toContain('chat claude-test');
    const route = otel.span('breakwater.route stream');
    expect(route.status.code).toBe(SpanStatusCode.ERROR);
    const chat = otel.span('chat claude-test');
    expect(chat.status.code).toBe(SpanStatusCode.ERROR);
    expect(chat.attributes).toMatchObject({
      'breakwater.attempt.outcome': 'failed',
      'breakwater.failure.kind': 'overloaded',
      'error.type': 'stream_overloaded_error',
    });
  });

  it('counts once, as a failed attempt: in the metrics and in the breaker', async () => {
    const router = routerOf();
    anthropic.enqueue(anthropicReplies.streamText(['The answer ', 'is ', '42'], { errorAfter: 2 }));
    await drain(router.stream(hello));
    const attempts = (await otel.points()).filter((p) => p.name === 'breakwater.attempts');
    expect(attempts.map((p) => [p.attributes['breakwater.attempt.outcome'], p.value])).toEqual([
      ['failed', 1],
    ]);
    const snap = router.routes[0]!.policy.breaker!.snapshot();
    expect([snap.windowCalls, snap.windowFailures]).toEqual([1, 1]);
  });
});

describe('a stream that ends well', () => {
  it('records usage, response model, finish reason and response id, like a chat', async () => {
    const router = routerOf();
    const { error } = await drain(router.stream(hello));
    expect(error).toBeUndefined();
    const chat = otel.span('chat claude-test');
    expect(chat.attributes).toMatchObject({
      'breakwater.attempt.outcome': 'ok',
      'gen_ai.response.model': 'claude-fake',
      'gen_ai.response.id': 'msg_fake',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 13,
      'gen_ai.usage.output_tokens': 5,
    });
    const usage = (await otel.points()).filter((p) => p.name === 'gen_ai.client.token.usage');
    expect(usage.length).toBe(2);
  });

  it('a chat records gen_ai.response.id too', async () => {
    await routerOf().chat(hello);
    expect(otel.span('chat claude-test').attributes['gen_ai.response.id']).toBe('msg_fake');
  });
});

describe("a provider's own deadline", () => {
  it('bounds its stream, a stall after the first chunk included', async () => {
    const clock = createVirtualClock(0);
    const first = openaiReplies.streamText(['partial ', 'never']);
    if (first.kind !== 'sse') throw new Error('expected an SSE reply');
    // Role chunk and the first piece, then nothing more, ever.
    openai.enqueue({ kind: 'sse', events: first.events.slice(0, 2), end: 'hang' });
    const router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(openai.baseURL), {
          model: 'gpt-test',
          profile: quickProfile({ timeout: { attemptMs: 2_000, totalMs: 2_000 } }),
        }),
      ],
      clock,
    });
    const reading = drain(router.stream(hello, { deadlineMs: 180_000 }), () => {
      void clock.advance(2_000);
    });
    const { chunks, error } = await reading;
    expect(chunks.map((c) => (c.type === 'text' ? c.text : '')).join('')).toBe('partial ');
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).partialText).toBe('partial ');
    expect((error as StreamInterruptedError).failure.kind).toBe('timeout');
    expect(clock.now()).toBe(2_000);
  });
});

const available = await redisOrSkip();

describe.skipIf(!available)(
  'on Redis: a stream cut after its first chunk counts against the shared breaker',
  () => {
    let client: Redis;
    beforeAll(() => {
      client = connect();
    });
    afterAll(async () => {
      await client.quit();
    });

    it('two cut streams open a two-failure breaker for every process sharing it', async () => {
      const prefix = testPrefix('stream-breaker');
      const profile = quickProfile({
        breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 60_000 },
      });
      const make = () =>
        createRouter({
          providers: [createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' })],
          profile,
          store: createRedisStore(client, { prefix, syncMs: 0 }),
        });
      const one = make();
      const other = make();
      anthropic.enqueue(anthropicReplies.streamText(['a', 'b', 'c'], { errorAfter: 1 }));
      anthropic.enqueue(anthropicReplies.streamText(['a', 'b', 'c'], { errorAfter: 1 }));
      expect((await drain(one.stream(hello))).error).toBeInstanceOf(StreamInterruptedError);
      expect((await drain(one.stream(hello))).error).toBeInstanceOf(StreamInterruptedError);
      const seen = anthropic.count;
      const refused = await drain(other.stream(hello));
      expect((refused.error as { failure: { kind: string } }).failure.kind).toBe('circuit_open');
      expect(anthropic.count).toBe(seen);
    });
  },
);
