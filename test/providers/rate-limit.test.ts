import { anthropicReplies, openaiReplies, type RetryAfterStyle } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBreakwaterError } from '../../src/failure/index.js';
import {
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Provider,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let primary: Fake;
let secondary: Fake;

beforeEach(async () => {
  primary = await startFakeOpenAI();
  secondary = await startFakeAnthropic();
});

afterEach(async () => {
  await primary.close();
  await secondary.close();
});

function twoProviders(): Provider[] {
  return [
    createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
    createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
  ];
}

const answered429 = (f: Fake) => f.requests.filter((r) => r.answer === 429).length;

describe('a 429 with retry-after-ms under 20 concurrent callers', () => {
  it('with waitForRetryAfter, pauses every caller: the primary sees one wave of 429s, then serves everyone', async () => {
    // The primary is limited for 150 ms from its first request, and says exactly how long is left.
    let until: number | undefined;
    primary.respond(() => {
      const now = Date.now();
      until ??= now + 150;
      return now < until
        ? openaiReplies.rateLimited('retry-after-ms', until - now)
        : openaiReplies.text('ok');
    });
    const router = createRouter({
      providers: twoProviders(),
      profile: quickProfile({ retry: { maxAttempts: 3 }, gate: { concurrency: 20 } }),
      waitForRetryAfter: true,
    });

    const results = await Promise.all(
      Array.from({ length: 20 }, () => router.chat(hello, { deadlineMs: 10_000 })),
    );

    expect(results.every((r) => r.provider === 'openai')).toBe(true);
    // One wave: at most one 429 per caller, never 20 × retries.
    expect(answered429(primary)).toBeLessThanOrEqual(20);
    expect(primary.count).toBeLessThanOrEqual(40);
    expect(secondary.count).toBe(0);
  });

  it('fails over at once when the wait is longer than the time left, and then skips the primary', async () => {
    primary.respond(() => openaiReplies.rateLimited('retry-after-ms', 30_000));
    const router = createRouter({
      providers: twoProviders(),
      profile: quickProfile({ retry: { maxAttempts: 3 } }),
    });

    const wave = await Promise.all(
      Array.from({ length: 20 }, () => router.chat(hello, { deadlineMs: 2_000 })),
    );
    expect(wave.every((r) => r.provider === 'anthropic')).toBe(true);
    const seen = primary.count;
    // No caller retried on the primary: each request there was a first attempt.
    expect(seen).toBeLessThanOrEqual(20);
    expect(router.routes[0]!.policy.gate!.cooldownRemaining()).toBeGreaterThan(2_000);

    // While it cools down for longer than any caller can wait, the primary gets no request at all.
    const later = await Promise.all(
      Array.from({ length: 20 }, () => router.chat(hello, { deadlineMs: 2_000 })),
    );
    expect(later.every((r) => r.provider === 'anthropic')).toBe(true);
    expect(primary.count).toBe(seen);
  });

  it('waits for a short cooldown when the caller asks to (waitForRetryAfter)', async () => {
    primary.enqueue(openaiReplies.rateLimited('retry-after-ms', 100));
    const router = createRouter({ providers: twoProviders(), profile: quickProfile() });
    const res = await router.chat(hello, { deadlineMs: 5_000, waitForRetryAfter: true });
    expect(res.provider).toBe('openai');
    expect(primary.count).toBe(2);
    expect(secondary.count).toBe(0);
  });
});

describe('every Retry-After signal the providers send', () => {
  const styles: Array<[RetryAfterStyle, (ms: number) => boolean]> = [
    ['retry-after-ms', (ms) => ms === 2_500],
    ['retry-after', (ms) => ms === 3_000],
    ['retry-after-date', (ms) => ms > 0 && ms <= 2_500],
    ['x-ratelimit-reset', (ms) => ms === 2_500],
    ['anthropic-ratelimit-reset', (ms) => ms > 0 && ms <= 2_500],
  ];

  for (const [style, ok] of styles) {
    it(`reads ${style} from a 429, on OpenAI and on Anthropic`, async () => {
      primary.enqueue(openaiReplies.rateLimited(style, 2_500));
      secondary.enqueue(anthropicReplies.rateLimited(style, 2_500));
      for (const p of twoProviders()) {
        const err = await p.chat(hello).catch((e: unknown) => e);
        expect(isBreakwaterError(err)).toBe(true);
        if (!isBreakwaterError(err)) return;
        expect(err.failure.kind).toBe('rate_limited');
        expect(err.failure.delivery).toBe('not_processed');
        expect(err.failure.retryAfterMs).toBeDefined();
        expect(ok(err.failure.retryAfterMs!)).toBe(true);
      }
    });
  }

  it('pauses the provider for every caller until the Retry-After has passed', async () => {
    primary.enqueue(openaiReplies.rateLimited('retry-after', 3_000));
    const router = createRouter({ providers: twoProviders(), profile: quickProfile() });
    const res = await router.chat(hello, { deadlineMs: 1_000 });
    expect(res.provider).toBe('anthropic');
    const cooling = router.routes[0]!.policy.gate!.cooldownRemaining();
    expect(cooling).toBeGreaterThan(1_000);
    expect(cooling).toBeLessThanOrEqual(3_000);
  });
});
