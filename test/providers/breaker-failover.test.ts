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
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

describe('a primary answering 500', () => {
  let primary: Fake;
  let secondary: Fake;
  let clock: VirtualClock;
  let router: Router;

  beforeEach(async () => {
    primary = await startFakeOpenAI();
    secondary = await startFakeAnthropic();
    primary.respond(() => openaiReplies.error(500));
    // Time moves only when the test says so; no call here waits on a timer (no backoff).
    clock = createVirtualClock(1_000_000);
    router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile({
        breaker: {
          mode: 'consecutive',
          consecutiveFailures: 3,
          openMs: 10_000,
          maxOpenMs: 10_000,
          halfOpenProbes: 1,
        },
      }),
      clock,
    });
  });

  afterEach(async () => {
    await primary.close();
    await secondary.close();
  });

  it('opens the breaker, sends later calls straight to the secondary, and returns after one good probe', async () => {
    const breaker = router.routes[0]!.policy.breaker!;

    // Call 1: two attempts on the primary (500, 500), then the secondary answers.
    const first = await router.chat(hello);
    expect(first.provider).toBe('anthropic');
    expect(primary.count).toBe(2);
    expect(breaker.state).toBe('closed');

    // Call 2: the third 500 in a row trips the breaker; the retry is not sent.
    const second = await router.chat(hello);
    expect(second.provider).toBe('anthropic');
    expect(primary.count).toBe(3);
    expect(breaker.state).toBe('open');

    // While open: no request reaches the primary at all.
    for (let i = 0; i < 5; i++) expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(primary.count).toBe(3);
    expect(secondary.count).toBe(7);

    // After the open period, one probe goes to the primary; it succeeds and traffic returns.
    primary.respond(() => openaiReplies.text('primary is back'));
    await clock.advance(10_000);
    const probe = await router.chat(hello);
    expect(probe.provider).toBe('openai');
    expect(probe.message.content).toBe('primary is back');
    expect(primary.count).toBe(4);
    expect(breaker.state).toBe('closed');

    for (let i = 0; i < 3; i++) expect((await router.chat(hello)).provider).toBe('openai');
    expect(primary.count).toBe(7);
    expect(secondary.count).toBe(7);
  });

  it('keeps the breaker open when the probe fails, still without retrying on the primary', async () => {
    await router.chat(hello);
    await router.chat(hello);
    const breaker = router.routes[0]!.policy.breaker!;
    expect(breaker.state).toBe('open');

    await clock.advance(10_000);
    const afterProbe = await router.chat(hello);
    expect(afterProbe.provider).toBe('anthropic');
    // One probe, not a probe plus retries.
    expect(primary.count).toBe(4);
    expect(breaker.state).toBe('open');
  });

  it('lists every provider in one error when all fail, skipped ones included', async () => {
    await router.chat(hello);
    await router.chat(hello);
    expect(router.routes[0]!.policy.breaker!.state).toBe('open');
    secondary.respond(() => anthropicReplies.error(500));

    const err = await router.chat(hello).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailedError);
    const all = err as AllProvidersFailedError;
    expect(all.failures.map((f) => [f.provider, f.skipped, f.error.failure.kind])).toEqual([
      ['openai', true, 'circuit_open'],
      ['anthropic', false, 'server_error'],
    ]);
    expect(all.retryAfterMs).toBe(10_000);
    expect(all.message).toMatch(/openai\/gpt-test: skipped/);
    expect(all.message).toMatch(/anthropic\/claude-test: HTTP 500 server_error after 2 attempts/);
    // No key and no prompt text in what the caller may log.
    expect(all.message).not.toMatch(/sk-|Say ok|Answer briefly/);
  });
});
