/**
 * An outsider's attack on router v2 (issue 16) through the public API: real
 * SDK clients against the fakes, one `describe` per promise.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InvalidInputError } from '../../src/failure/index.js';
import { createVirtualClock } from '../../src/policy/index.js';
import {
  type ChatChunk,
  type ChatRequest,
  type ChatResponse,
  createOpenAIProvider,
  createQuota,
  createRouter,
  type Provider,
  readRateLimitHeaders,
  StreamInterruptedError,
} from '../../src/providers/index.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let east: Fake;
let west: Fake;

beforeAll(async () => {
  [east, west] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});

afterAll(async () => {
  await Promise.all([east.close(), west.close()]);
});

const gpt = (f: Fake, name: string): Provider =>
  createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test', name });

describe('always say what happened: the weighted strategy sends each call where its weights say', () => {
  // Any positive finite weight is accepted, so weights near Number.MAX_VALUE are legal: their sum
  // overflows to Infinity, and a pick over an infinite total is no longer the weights' pick.
  const weight = fc.oneof(
    fc.constantFrom(1, 1e-300, 1e300, Number.MAX_VALUE),
    fc.double({ min: 1e-6, max: Number.MAX_VALUE, noNaN: true, noDefaultInfinity: true }),
  );
  it('picks by the weights even when they sum past Number.MAX_VALUE', async () => {
    await fc.assert(
      fc.asyncProperty(
        weight,
        weight,
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (we, ww, r) => {
          const router = createRouter({
            groups: {
              smart: {
                strategy: 'weighted',
                deployments: [
                  { provider: gpt(east, 'east'), weight: we },
                  { provider: gpt(west, 'west'), weight: ww },
                ],
              },
            },
            profile: quickProfile(),
            random: () => r,
          });
          // East's share of the total, computed without overflow.
          const m = Math.max(we, ww);
          const eastShare = we / m / (we / m + ww / m);
          const served = (await router.chat(hello)).provider;
          // A point exactly on the boundary may go either way by rounding; elsewhere the side is known.
          if (Math.abs(r - eastShare) > 1e-9) expect(served).toBe(r < eastShare ? 'east' : 'west');
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('never forever: a stream past its first chunk ends by its deadline and on an abort', () => {
  // A provider (a custom one, a wrapper, a broken SDK) that hands over a first chunk and then
  // never answers again, deaf to its signal. A chat from it ends by its deadline (the policy
  // does not wait on the provider); a stream's next chunk must too.
  const forever = new Promise<never>(() => undefined);
  const deaf: Provider = {
    name: 'deaf',
    model: 'deaf-1',
    chat: () => forever,
    async *stream(): AsyncGenerator<ChatChunk> {
      yield { type: 'text', text: 'Hel' };
      await forever;
    },
  };
  const deafRouter = (clock: ReturnType<typeof createVirtualClock>) =>
    createRouter({
      groups: { only: { deployments: [deaf] } },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });

  it('the next chunk of a stream from a deaf provider rejects once the deadline passes', async () => {
    const clock = createVirtualClock(0);
    const stream = deafRouter(clock).stream(hello, { deadlineMs: 1_000 });
    expect((await stream.next()).value).toEqual({ type: 'text', text: 'Hel' });
    const next = stream.next();
    next.catch(() => undefined);
    await clock.advance(1_000);
    const error = await next.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).partialText).toBe('Hel');
  });

  it("the next chunk of a stream from a deaf provider rejects at once on the caller's abort", async () => {
    const clock = createVirtualClock(0);
    const caller = new AbortController();
    const stream = deafRouter(clock).stream(hello, { signal: caller.signal });
    await stream.next();
    const next = stream.next();
    next.catch(() => undefined);
    caller.abort();
    await expect(next).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('caller errors thrown at once: hostile messages never reach a deployment', () => {
  it('tool-call arguments that cannot be serialized throw before any request, with no prompt text', async () => {
    const secret = 'PROMPT-SECRET-7f3a';
    const cyclic: Record<string, unknown> = { note: secret };
    cyclic.self = cyclic;
    const before = east.count + west.count;
    const router = createRouter({
      groups: {
        smart: { deployments: [{ provider: gpt(east, 'east') }, { provider: gpt(west, 'west') }] },
      },
      profile: quickProfile(),
    });
    for (const args of [cyclic, { n: 1n }]) {
      const request = {
        messages: [
          { role: 'user', content: secret },
          { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup', arguments: args }] },
          { role: 'tool', toolCallId: 'c1', content: secret },
        ],
      } as unknown as ChatRequest;
      const error = await router.chat(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues[0]?.path).toBe('messages[1].toolCalls[0].arguments');
      expect(String((error as Error).message)).not.toContain(secret);
    }
    expect(east.count + west.count).toBe(before);
  });

  it('a request not shaped as the neutral chat names the field, sends nothing and quotes no text', async () => {
    const secret = 'PROMPT-SECRET-9c1d';
    const before = east.count + west.count;
    const router = createRouter({ providers: [gpt(east, 'east')], profile: quickProfile() });
    const cases: Array<[unknown, string]> = [
      [{}, 'messages'],
      [{ messages: [{ role: 'user', content: null }] }, 'messages[0].content'],
      [{ messages: [{ role: 'system', content: secret }] }, 'messages[0].role'],
      [
        {
          messages: [
            { role: 'user', content: secret },
            { role: 'tool', content: secret },
          ],
        },
        'messages[1].toolCallId',
      ],
      [{ system: 42, messages: [] }, 'system'],
      [{ messages: [{ role: 'assistant', content: '', toolCalls: {} }] }, 'messages[0].toolCalls'],
    ];
    for (const [request, path] of cases) {
      const error = await router.chat(request as ChatRequest).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues[0]?.path).toBe(path);
      expect((error as Error).message).not.toContain(secret);
    }
    expect(east.count + west.count).toBe(before);
  });
});

describe('never forever: no quota reservation outlives its call', () => {
  it('a call given up on a provider deaf to its signal gives its reservation back', async () => {
    const clock = createVirtualClock(0);
    let calls = 0;
    const answer = {
      message: { role: 'assistant', content: 'ok' },
      toolCalls: [],
      finishReason: 'stop',
      provider: 'deaf',
      model: 'deaf-1',
    } as unknown as ChatResponse;
    // The first request never answers and ignores its abort; later ones answer at once.
    const deafOnce: Provider = {
      name: 'deaf',
      model: 'deaf-1',
      chat: () => (++calls === 1 ? new Promise<never>(() => undefined) : Promise.resolve(answer)),
      stream: () => {
        throw new Error('not used');
      },
    };
    const router = createRouter({
      groups: { only: { deployments: [{ provider: deafOnce, limits: { rpm: 1 } }] } },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    const first = router.chat(hello, { deadlineMs: 1_000 }).catch((e: unknown) => e);
    await clock.advance(1_000);
    expect(await first).toBeInstanceOf(Error);
    // A window later, the one request a minute is free again: the first call is over.
    await clock.advance(60_000);
    const second = router.chat(hello, { deadlineMs: 1_000 });
    await expect(second).resolves.toMatchObject({ deployment: 'deaf/deaf-1' });
    expect(calls).toBe(2);
  });
});

describe('never hammer, never stall: a rate-limit reset from a hostile header holds a deployment at most a day', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const reset = fc.oneof(
    // OpenAI's Go durations, absurd ones included.
    fc.constantFrom('999999h', '1e9s', '-5s', '0s', 'NaNms', '25h', '23h59m', ''),
    fc.tuple(fc.nat(100_000_000), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`),
  );
  const stamp = fc.oneof(
    // Anthropic's RFC 3339 timestamps: year 3000, the distant past, garbage.
    fc.constantFrom('3000-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '9999-99-99T99:99:99Z', 'tomorrow'),
    fc.integer({ min: -10 * DAY, max: 400 * DAY }).map((ms) => new Date(Date.now() + ms).toISOString()),
  );
  it('a request waits no longer than a day, whatever the reset header says', () => {
    fc.assert(
      fc.property(reset, stamp, fc.boolean(), (openaiReset, anthropicReset, openai) => {
        const clock = createVirtualClock(0);
        const quota = createQuota({ clock });
        const headers = new Headers(
          openai
            ? { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': openaiReset }
            : {
                'anthropic-ratelimit-tokens-remaining': '0',
                'anthropic-ratelimit-tokens-reset': anthropicReset,
              },
        );
        quota.observe(readRateLimitHeaders(headers, clock.now()));
        expect(quota.delayFor(1)).toBeLessThanOrEqual(DAY);
      }),
    );
  });
});
