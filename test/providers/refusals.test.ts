import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { caught } from '../fakes/caught.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type OpenAIFake = Awaited<ReturnType<typeof startFakeOpenAI>>;
type AnthropicFake = Awaited<ReturnType<typeof startFakeAnthropic>>;

/** OpenAI first, Anthropic second: the order the README shows. */
describe('provider refusals: fail over, and skip the provider that refused', () => {
  let primary: OpenAIFake;
  let secondary: AnthropicFake;
  let clock: VirtualClock;
  let router: Router;

  beforeEach(async () => {
    primary = await startFakeOpenAI();
    secondary = await startFakeAnthropic();
    clock = createVirtualClock(1_000_000);
    router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile({ retry: { maxAttempts: 3 } }),
      clock,
      refusalMs: 60_000,
    });
  });

  afterEach(async () => {
    await primary.close();
    await secondary.close();
  });

  it('insufficient_quota: one request, no retry as a rate limit, then skipped until refusalMs passes', async () => {
    primary.respond(() => openaiReplies.apiError(429, 'insufficient_quota', 'insufficient_quota'));
    const first = await router.chat(hello);
    expect(first.provider).toBe('anthropic');
    expect(primary.count).toBe(1);

    for (let i = 0; i < 5; i++) expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(1);

    await clock.advance(60_000);
    await router.chat(hello);
    expect(primary.count).toBe(2);
  });

  it('keeps the provider code on the failure and in its message', async () => {
    primary.respond(() => openaiReplies.apiError(429, 'insufficient_quota', 'insufficient_quota'));
    secondary.respond(() => anthropicReplies.error(529, 'overloaded_error'));
    const err = await caught(router.chat(hello));
    expect(err).toBeInstanceOf(AllProvidersFailedError);
    const failures = (err as AllProvidersFailedError).failures;
    expect(failures[0]!.error.failure).toMatchObject({
      kind: 'auth',
      code: 'insufficient_quota',
      status: 429,
    });
    expect(failures[1]!.error.failure).toMatchObject({ kind: 'overloaded', code: 'overloaded_error' });
    expect((err as Error).message).toContain('insufficient_quota');
    expect((err as Error).message).toContain('overloaded_error');
  });

  it.each([
    ['401 invalid_api_key', 401, 'invalid_request_error', 'invalid_api_key', 'invalid_api_key'],
    [
      '403 permission',
      403,
      'invalid_request_error',
      'unsupported_country_region_territory',
      'permission_denied',
    ],
    ['404 model_not_found', 404, 'invalid_request_error', 'model_not_found', 'model_not_found'],
  ])('%s: fails over once and is then skipped', async (_name, status, type, code, expected) => {
    primary.respond(() => openaiReplies.apiError(status, type, code));
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(1);
    primary.respond(() => openaiReplies.apiError(500, 'server_error', null));
    secondary.respond(() => anthropicReplies.error(500));
    const err = (await caught(router.chat(hello))) as AllProvidersFailedError;
    expect(err.failures[0]).toMatchObject({ skipped: true });
    expect(err.failures[0]!.error.failure.code).toBe(expected);
  });

  it('context_length_exceeded: fails over, but the next (shorter) request goes to the primary again', async () => {
    primary.enqueue(
      openaiReplies.apiError(
        400,
        'invalid_request_error',
        'context_length_exceeded',
        "This model's maximum context length is 8192 tokens.",
      ),
    );
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect((await router.chat(hello)).provider).toBe('openai');
    expect(primary.count).toBe(2);
  });

  it("a malformed request is the caller's mistake: thrown at once, no failover", async () => {
    primary.respond(() => openaiReplies.apiError(400, 'invalid_request_error', null, "Invalid 'messages'"));
    const err = await caught(router.chat(hello));
    expect(err).not.toBeInstanceOf(AllProvidersFailedError);
    expect((err as { failure: { kind: string } }).failure.kind).toBe('client_error');
    expect(secondary.count).toBe(0);
  });

  it('a 401 counts against the breaker, never as a success', async () => {
    const breaker = router.routes[0]!.policy.breaker!;
    primary.respond(() => openaiReplies.apiError(401, 'invalid_request_error', 'invalid_api_key'));
    await router.chat(hello);
    expect(breaker.snapshot().windowFailures).toBe(1);
    expect(breaker.snapshot().windowCalls).toBe(1);
  });
});

describe('Anthropic refusals as the primary', () => {
  let primary: AnthropicFake;
  let secondary: OpenAIFake;
  let router: Router;

  beforeEach(async () => {
    primary = await startFakeAnthropic();
    secondary = await startFakeOpenAI();
    router = createRouter({
      providers: [
        createAnthropicProvider(anthropicClient(primary.baseURL), { model: 'claude-test' }),
        createOpenAIProvider(openaiClient(secondary.baseURL), { model: 'gpt-test' }),
      ],
      profile: quickProfile({ retry: { maxAttempts: 3 } }),
      clock: createVirtualClock(0),
    });
  });

  afterEach(async () => {
    await primary.close();
    await secondary.close();
  });

  it('a 400 "credit balance is too low" fails over and the provider is skipped', async () => {
    primary.respond(() =>
      anthropicReplies.error(
        400,
        'invalid_request_error',
        {},
        'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing.',
      ),
    );
    expect((await router.chat(hello)).provider).toBe('openai');
    expect((await router.chat(hello)).provider).toBe('openai');
    expect(primary.count).toBe(1);
  });

  it('a 400 "prompt is too long" fails over without skipping', async () => {
    primary.enqueue(
      anthropicReplies.error(
        400,
        'invalid_request_error',
        {},
        'prompt is too long: 210000 tokens > 200000 maximum',
      ),
    );
    expect((await router.chat(hello)).provider).toBe('openai');
    expect((await router.chat(hello)).provider).toBe('anthropic');
  });
});

describe('a busy primary with a healthy secondary', () => {
  let primary: OpenAIFake;
  let secondary: AnthropicFake;
  let clock: VirtualClock;

  beforeEach(async () => {
    primary = await startFakeOpenAI();
    secondary = await startFakeAnthropic();
    clock = createVirtualClock(1_000_000);
  });

  afterEach(async () => {
    await primary.close();
    await secondary.close();
  });

  function routerOf(waitForRetryAfter?: boolean, onRetry?: () => void): Router {
    return createRouter({
      observer: { event: (e) => (e.type === 'retry_scheduled' ? onRetry?.() : undefined) },
      providers: [
        createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile({ retry: { maxAttempts: 3 } }),
      clock,
      waitForRetryAfter,
    });
  }

  it('a Retry-After that fits is not waited for: the secondary answers at once, and the cooling primary is skipped', async () => {
    const router = routerOf();
    primary.enqueue(openaiReplies.rateLimited('retry-after-ms', 2_000));
    // The virtual clock never moves: a wait for the primary would never end.
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(1);
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(1);
    await clock.advance(2_000);
    expect((await router.chat(hello)).provider).toBe('openai');
  });

  it('a 529 moves on to the secondary instead of backing off', async () => {
    const router = routerOf();
    primary.enqueue(openaiReplies.apiError(529, 'overloaded_error', null));
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(1);
  });

  it('waitForRetryAfter: the caller may ask to wait for the primary', async () => {
    let scheduled!: () => void;
    const retrying = new Promise<void>((resolve) => {
      scheduled = resolve;
    });
    const router = routerOf(true, () => scheduled());
    primary.enqueue(openaiReplies.rateLimited('retry-after-ms', 2_000));
    const pending = router.chat(hello);
    await retrying;
    await clock.advance(2_000);
    expect((await pending).provider).toBe('openai');
    expect(secondary.count).toBe(0);
  });
});

describe('a hung primary', () => {
  it('leaves the secondary its share of the deadline', async () => {
    const primary = await startFakeOpenAI();
    const secondary = await startFakeAnthropic();
    const clock = createVirtualClock(1_000_000);
    try {
      primary.respond(() => ({ kind: 'hang' }));
      const router = createRouter({
        providers: [
          createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
          createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
        ],
        clock,
      });
      const pending = router.chat(hello, { deadlineMs: 30_000 });
      await primary.until((rs) => rs.length === 1);
      await clock.advance(15_000);
      const answer = await pending;
      expect(answer.provider).toBe('anthropic');
      expect(clock.now()).toBe(1_015_000);
      expect(primary.clientCloses).toBe(1);
    } finally {
      await primary.close();
      await secondary.close();
    }
  });
});
