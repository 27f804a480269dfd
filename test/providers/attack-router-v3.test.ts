/**
 * A third outsider's attack on router v2 (model groups, quota, hedging,
 * fallbacks, embeddings) through the public API: real SDK clients over real
 * HTTP against the fakes, the virtual clock where time matters. One
 * `describe` per promise.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRouterModel } from '../../src/ai-sdk.js';
import { CancelledError, RateLimitedError } from '../../src/failure/index.js';
import { createVirtualClock, type PolicyEvent } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  type ChatChunk,
  createOpenAIProvider,
  createRouter,
  type Provider,
  StreamInterruptedError,
} from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createFakeOpenAI, openaiReplies } from '../../src/testing/openai.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { everyRecordedString, installOtel } from '../fakes/otel.js';
import { hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let east: Fake;
let west: Fake;

// Fresh servers for every test: a reply one test scripted and its requests did not take (an SDK
// version sending one request fewer) must not answer the next test's.
beforeEach(async () => {
  [east, west] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});

afterEach(async () => {
  await Promise.all([east.close(), west.close()]);
});

const gpt = (f: Fake, name: string): Provider =>
  createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test', name });

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('never hammer: a local quota hold on a retry is not a 429 from the provider', () => {
  it('a retry held past its deadline by the quota sets no cooldown for other callers', async () => {
    const clock = createVirtualClock(0);
    const events: PolicyEvent[] = [];
    const router = createRouter({
      // One request a minute: the first attempt takes it, so the retry cannot fit before the deadline.
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } }] } },
      clock,
      profile: quickProfile(),
      observer: { event: (e) => events.push(e) },
    });
    const before = east.count;
    east.enqueue(openaiReplies.error(500));
    const error = await caught(router.chat(hello, { deadlineMs: 10_000 }));
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    // One request reached the provider, and it never said 429: nothing to cool down for.
    expect(east.count - before).toBe(1);
    expect(events.filter((e) => e.type === 'cooldown_started')).toEqual([]);
    const route = router.routes[0]!;
    expect(route.policy.gate?.cooldownRemaining(clock.now()) ?? 0).toBe(0);
    expect(route.policy.health.cooldownUntil(clock.now())).toBeLessThanOrEqual(clock.now());
  });
});

describe('never forever: a quota wait ends on an abort and at the deadline', () => {
  const router = (clock: ReturnType<typeof createVirtualClock>) =>
    createRouter({
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } }] } },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });

  it("the caller's abort during a quota wait throws CancelledError at once, sends nothing, holds nothing", async () => {
    const clock = createVirtualClock(0);
    const r = router(clock);
    await r.chat(hello, { deadlineMs: 120_000 });
    const before = east.count;
    const caller = new AbortController();
    // The minute's one request is spent: this call waits for the quota.
    const waiting = caught(r.chat(hello, { deadlineMs: 120_000, signal: caller.signal }));
    await clock.advance(10_000);
    caller.abort();
    expect(await waiting).toBeInstanceOf(CancelledError);
    expect(east.count).toBe(before);
    // The abandoned wait took nothing: a window later the next call goes at once.
    await clock.advance(50_000);
    await expect(r.chat(hello, { deadlineMs: 1_000 })).resolves.toMatchObject({ deployment: 'east' });
  });

  it('a deadline shorter than the hold fails at once as not sent, naming no prompt', async () => {
    const clock = createVirtualClock(0);
    const r = router(clock);
    await r.chat(hello, { deadlineMs: 120_000 });
    const before = east.count;
    const error = await caught(r.chat(hello, { deadlineMs: 5_000 }));
    expect(clock.now()).toBe(0);
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    const f = (error as AllProvidersFailedError).failures[0]!;
    expect(f.error).toBeInstanceOf(RateLimitedError);
    expect(f.error.failure.delivery).toBe('not_sent');
    expect(east.count).toBe(before);
  });
});

describe('options are checked when the router is made, naming the field', () => {
  // Never called: only the options are under test.
  const stub: Provider = {
    name: 'stub',
    model: 'stub-1',
    chat: () => Promise.reject(new Error('not called')),
    stream: () => {
      throw new Error('not called');
    },
  };
  const base = { deployments: [{ id: 'east', provider: stub }] };
  it.each([
    [
      'a misspelt fallback class',
      { smart: { ...base, fallbacks: { unavailble: 'long' } }, long: base },
      'groups.smart.fallbacks.unavailble',
    ],
    [
      'fallbacks that are not an object',
      { smart: { ...base, fallbacks: 'long' }, long: base },
      'groups.smart.fallbacks',
    ],
    [
      'a fallback that is not a group name',
      { smart: { ...base, fallbacks: { unavailable: 42 } }, long: base },
      'groups.smart.fallbacks.unavailable',
    ],
    ['a misspelt group option', { smart: { ...base, hedges: { afterMs: 1_000 } } }, 'groups.smart.hedges'],
    [
      'a misspelt deployment option',
      { smart: { deployments: [{ id: 'east', provider: stub, weigth: 3 }] } },
      'groups.smart.deployments[0].weigth',
    ],
    [
      'a misspelt limit',
      { smart: { deployments: [{ id: 'east', provider: stub, limits: { tokensPerMinute: 1 } }] } },
      'groups.smart.deployments[0].limits.tokensPerMinute',
    ],
  ])('%s', (_what, groups, field) => {
    expect(() => createRouter({ groups: groups as never })).toThrow(
      new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}:`),
    );
  });

  it.each([
    ['deadlineShare', { deadlineShare: 'none' }],
    ['waitForRetryAfter', { waitForRetryAfter: 'yes' }],
  ])('a bad %s', (field, extra) => {
    expect(() => createRouter({ groups: { smart: base }, ...(extra as object) } as never)).toThrow(
      new RegExp(`^${field}:`),
    );
  });
});

describe('never twice, never forever: a hedged call closes its loser', () => {
  const hedgedRouter = (clock: ReturnType<typeof createVirtualClock>) =>
    createRouter({
      groups: {
        fast: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east') },
            { id: 'west', provider: gpt(west, 'west') },
          ],
          hedge: { afterMs: 1_000 },
        },
      },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });

  it('a chat whose primary hangs is answered by the hedge, and the hung request is closed', async () => {
    const clock = createVirtualClock(0);
    const router = hedgedRouter(clock);
    const closes = east.clientCloses;
    const sentWest = west.count;
    east.enqueue({ kind: 'hang' });
    const answer = router.chat(hello, { deadlineMs: 30_000 });
    await vi.waitFor(() => expect(east.count).toBeGreaterThan(0));
    await clock.advance(1_000);
    await expect(answer).resolves.toMatchObject({ deployment: 'west' });
    expect(west.count - sentWest).toBe(1);
    await vi.waitFor(() => expect(east.clientCloses).toBe(closes + 1));
    expect(router.routes.map((r) => r.policy.breaker?.state)).toEqual(['closed', 'closed']);
  });

  it('a stream whose primary sends no first chunk is read from the hedge, and the hung one is closed', async () => {
    const clock = createVirtualClock(0);
    const router = hedgedRouter(clock);
    const closes = east.clientCloses;
    east.enqueue({ kind: 'hang' });
    const text: string[] = [];
    const reading = (async () => {
      for await (const c of router.stream(hello, { deadlineMs: 30_000 })) {
        if (c.type === 'text') text.push(c.text);
        if (c.type === 'finish') return c.response.deployment;
      }
      return undefined;
    })();
    await clock.advance(1_000);
    await expect(reading).resolves.toBe('west');
    expect(text.join('')).toBe('ok');
    await vi.waitFor(() => expect(east.clientCloses).toBe(closes + 1));
  });

  it('no hedge goes to a deployment whose breaker is open', async () => {
    const clock = createVirtualClock(0);
    const router = hedgedRouter(clock);
    const release = router.routes[1]!.policy.breaker!.isolate();
    const sentWest = west.count;
    east.enqueue(openaiReplies.text('late', 0));
    const hangs = { kind: 'hang' } as const;
    east.enqueue(hangs);
    // The first request goes to east and answers; the second hangs and would be hedged, but west is isolated.
    await router.chat(hello, { deadlineMs: 30_000 });
    const sentEast = east.count;
    const second = caught(router.chat(hello, { deadlineMs: 4_000 }));
    // This call's own request, not an earlier test's: the clock moves only once it is on the wire.
    await vi.waitFor(() => expect(east.count).toBe(sentEast + 1));
    await clock.advance(4_000);
    expect(await second).toBeInstanceOf(AllProvidersFailedError);
    expect(west.count).toBe(sentWest);
    release();
  });
});

describe('wrong fallbacks: a caller error never moves, content policy cannot cycle', () => {
  it('a 400 invalid_request_error is thrown at once: no other deployment, no fallback group', async () => {
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east') },
            { id: 'west', provider: gpt(west, 'west') },
          ],
          fallbacks: { unavailable: 'spare', contentPolicy: 'spare' },
        },
        spare: { deployments: [{ id: 'west2', provider: gpt(west, 'west2') }] },
      },
      profile: quickProfile(),
    });
    const sentWest = west.count;
    east.enqueue(openaiReplies.apiError(400, 'invalid_request_error', null, 'bad param'));
    const error = await caught(router.chat(hello));
    expect(error).not.toBeInstanceOf(AllProvidersFailedError);
    expect((error as RateLimitedError).failure.kind).toBe('client_error');
    expect(west.count).toBe(sentWest);
  });

  it('content-policy fallbacks that point at each other end, returning the kept answer', async () => {
    const router = createRouter({
      groups: {
        a: { deployments: [{ id: 'east', provider: gpt(east, 'east') }], fallbacks: { contentPolicy: 'b' } },
        b: { deployments: [{ id: 'west', provider: gpt(west, 'west') }], fallbacks: { contentPolicy: 'a' } },
      },
      profile: quickProfile(),
      maxHops: 10,
    });
    const sent = east.count + west.count;
    east.enqueue(openaiReplies.rawMessage({ role: 'assistant', content: '' }, 'content_filter'));
    west.enqueue(openaiReplies.apiError(400, 'invalid_request_error', 'content_policy_violation'));
    const res = await router.chat(hello);
    expect(res).toMatchObject({ deployment: 'east', finishReason: 'content_filter' });
    expect(east.count + west.count - sent).toBe(2);
  });
});

describe('keep working: a chat and an embeddings group (the documented limit of the default fallback)', () => {
  // The default context-window fallback takes the first unvisited group with a deployment whose
  // `contextWindow` fits; it cannot tell an embedding model from a chat model. With a contextWindow
  // on an embedding deployment declared before the chat group, a long chat would go there, meet a
  // 404 and refuse that deployment for embeds too (docs/providers.md says so now). These pin the two
  // ways the docs give to keep chats out.
  async function embeddingServer() {
    // An embedding model's server: embeddings answer, a chat is a 404 (as OpenAI answers one).
    const vec = await createFakeOpenAI();
    vec.respond((r) =>
      r.path === '/v1/embeddings'
        ? openaiReplies.embeddings()(r)
        : openaiReplies.apiError(404, 'invalid_request_error', 'model_not_found'),
    );
    return vec;
  }
  const long = { messages: [{ role: 'user' as const, content: 'x'.repeat(4_000) }], maxTokens: 100 };

  it.each([
    ['no contextWindow on the embedding deployment', undefined, {}],
    ['a named fallbacks.contextWindow', 8_191, { contextWindow: 'long' }],
  ])('%s: the long chat goes to the chat group, embeds still work', async (_what, window, fallbacks) => {
    const vec = await embeddingServer();
    try {
      const embedder = createOpenAIProvider(openaiClient(vec.baseURL), { model: 'text-embedding-3-small' });
      const router = createRouter({
        groups: {
          smart: {
            deployments: [{ id: 'east', provider: gpt(east, 'east'), contextWindow: 200 }],
            fallbacks,
          },
          vectors: { deployments: [{ id: 'emb', provider: embedder, contextWindow: window }] },
          long: { deployments: [{ id: 'west', provider: gpt(west, 'west'), contextWindow: 128_000 }] },
        },
        profile: quickProfile(),
      });
      const res = await router.chat(long, { group: 'smart' });
      expect(res.deployment).toBe('west');
      expect(vec.requests.filter((r) => r.path === '/v1/chat/completions')).toEqual([]);
      await expect(router.embed({ input: 'a passage' }, { group: 'vectors' })).resolves.toMatchObject({
        deployment: 'emb',
      });
    } finally {
      await vec.close();
    }
  });
});

describe('never forever: a hedge ends by the call deadline', () => {
  it.each(['chat', 'stream'] as const)(
    "with deadlineShare 'all', a hedged %s whose two requests hang ends at the deadline, not after it",
    async (kind) => {
      const clock = createVirtualClock(0);
      const router = createRouter({
        groups: {
          fast: {
            deployments: [
              { id: 'east', provider: gpt(east, 'east') },
              { id: 'west', provider: gpt(west, 'west') },
            ],
            hedge: { afterMs: 1_000 },
          },
        },
        deadlineShare: 'all',
        clock,
        profile: quickProfile({ retry: { maxAttempts: 1 } }),
      });
      east.enqueue({ kind: 'hang' });
      west.enqueue({ kind: 'hang' });
      let settled = false;
      const call =
        kind === 'chat'
          ? router.chat(hello, { deadlineMs: 5_000 })
          : (async () => {
              for await (const _ of router.stream(hello, { deadlineMs: 5_000 })) {
                /* nothing arrives */
              }
            })();
      const error = caught(call).finally(() => {
        settled = true;
      });
      await vi.waitFor(() => expect(east.requests.length).toBeGreaterThan(0));
      await clock.advance(1_000);
      await vi.waitFor(() => expect(west.requests.length).toBeGreaterThan(0));
      await clock.advance(4_000);
      await vi.waitFor(() => expect(settled).toBe(true));
      expect(clock.now()).toBe(5_000);
      expect(await error).toBeInstanceOf(AllProvidersFailedError);
    },
  );
});

describe('never forever: a quota wait counts against the deadline', () => {
  it('a request held by the quota, then hung, ends at the call deadline', async () => {
    const clock = createVirtualClock(0);
    const router = createRouter({
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } }] } },
      clock,
      // No per-attempt limit to end the hang first: only the call's deadline.
      profile: quickProfile({
        retry: { maxAttempts: 1 },
        timeout: { attemptMs: 600_000, totalMs: 600_000 },
        breaker: { windowMs: 1_200_000 },
      }),
    });
    await router.chat(hello, { deadlineMs: 1_000 });
    const before = east.count;
    east.enqueue({ kind: 'hang' });
    let settled = false;
    const error = caught(router.chat(hello, { deadlineMs: 90_000 })).finally(() => {
      settled = true;
    });
    // A minute's wait for the quota, then the request is sent and hangs.
    await clock.advance(60_000);
    await vi.waitFor(() => expect(east.count).toBe(before + 1));
    await clock.advance(30_000);
    await vi.waitFor(() => expect(settled).toBe(true));
    expect(clock.now()).toBe(90_000);
    expect(await error).toBeInstanceOf(AllProvidersFailedError);
  });
});

describe('never forever: a quota wait counts against the deployment share', () => {
  it('a deployment that waited for its quota and then hangs leaves the next its share on time', async () => {
    const clock = createVirtualClock(0);
    const router = createRouter({
      groups: {
        only: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1 } },
            { id: 'west', provider: gpt(west, 'west'), limits: { rpm: 1 } },
          ],
        },
      },
      clock,
      profile: quickProfile({
        retry: { maxAttempts: 1 },
        timeout: { attemptMs: 600_000, totalMs: 600_000 },
        breaker: { windowMs: 1_200_000 },
      }),
    });
    // Each deployment's one request of the minute is spent.
    expect((await router.chat(hello, { deadlineMs: 1_000 })).deployment).toBe('east');
    expect((await router.chat(hello, { deadlineMs: 1_000 })).deployment).toBe('west');
    const before = east.count;
    east.enqueue({ kind: 'hang' });
    // East is picked, owed half of 200 s: a minute of it waiting for the quota, then it hangs.
    const answer = router.chat(hello, { deadlineMs: 200_000 });
    await clock.advance(60_000);
    await vi.waitFor(() => expect(east.count).toBe(before + 1));
    await clock.advance(40_000);
    await expect(answer).resolves.toMatchObject({ deployment: 'west' });
    expect(clock.now()).toBe(100_000);
  });
});

describe('show it all, leak nothing: telemetry of groups, hedges, fallbacks and embeds', () => {
  it('no prompt text, provider message or API key reaches a span, an event, a metric or an error', async () => {
    const otel = installOtel();
    const secret = 'PROMPT-SECRET-5e2b';
    const key = 'sk-test-not-a-key';
    try {
      const clock = createVirtualClock(0);
      const router = createRouter({
        groups: {
          smart: {
            deployments: [
              { id: 'east', provider: gpt(east, 'east') },
              { id: 'west', provider: gpt(west, 'west') },
            ],
            hedge: { afterMs: 1_000 },
            fallbacks: { unavailable: 'spare', contentPolicy: 'spare' },
          },
          spare: { deployments: [{ id: 'spare', provider: gpt(west, 'spare') }] },
        },
        clock,
        profile: quickProfile({ retry: { maxAttempts: 1 } }),
        telemetry: createTelemetry(),
      });
      const request = { system: secret, messages: [{ role: 'user' as const, content: secret }] };
      // Providers echo the prompt and the key in their messages, as OpenAI's 401 and moderation errors do.
      east.enqueue(openaiReplies.apiError(500, 'server_error', null, `failed on ${secret}`));
      west.enqueue(
        openaiReplies.apiError(
          400,
          'invalid_request_error',
          'content_policy_violation',
          `flagged: ${secret}`,
        ),
      );
      expect((await router.chat(request)).deployment).toBe('spare');
      // A hedged chat: east hangs, the hedge to west wins.
      east.enqueue({ kind: 'hang' });
      const sentEast = east.count;
      const hedged = router.chat(request, { deadlineMs: 30_000 });
      await vi.waitFor(() => expect(east.count).toBe(sentEast + 1));
      await clock.advance(1_000);
      expect((await hedged).deployment).toBe('west');
      // A stream refused everywhere, with the key in the message.
      for (const f of [east, west, west])
        f.enqueue(
          openaiReplies.apiError(
            401,
            'invalid_request_error',
            'invalid_api_key',
            `Incorrect API key provided: ${key}`,
          ),
        );
      const errors: unknown[] = [];
      errors.push(
        await caught(
          (async () => {
            for await (const _ of router.stream(request)) {
              /* never */
            }
          })(),
        ),
      );
      // An embed failing with the input echoed.
      west.enqueue(openaiReplies.apiError(500, 'server_error', null, `cannot embed ${secret}`));
      errors.push(await caught(router.embed({ input: secret }, { group: 'spare' })));
      const strings = [
        ...everyRecordedString(otel.spans()),
        ...(await otel.points()).flatMap((p) => Object.values(p.attributes).map(String)),
        ...errors.map((e) => String((e as Error)?.message)),
      ];
      expect(otel.spans().some((s) => s.events.some((e) => e.name.includes('hedge')))).toBe(true);
      for (const s of strings) {
        expect(s).not.toContain(secret);
        expect(s).not.toContain(key);
      }
    } finally {
      await otel.uninstall();
    }
  });
});

describe('never forever: the AI SDK model closes a stalled stream its reader cancels', () => {
  it('cancelling the part stream while a chunk is awaited closes the HTTP request at once', async () => {
    const clock = createVirtualClock(0);
    const router = createRouter({
      groups: { only: { deployments: [{ id: 'east', provider: gpt(east, 'east') }] } },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    const closes = east.clientCloses;
    const full = openaiReplies.streamText(['o']);
    if (full.kind !== 'sse') throw new Error('expected an sse reply');
    // The role chunk and one piece of text, then the server goes quiet with the connection open.
    east.enqueue({ kind: 'sse', events: full.events.slice(0, 2), end: 'hang' });
    const model = createRouterModel(router, { deadlineMs: 600_000 });
    const { stream } = await model.doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'Say ok.' }] }],
    } as never);
    const reader = stream.getReader();
    const seen: string[] = [];
    for (;;) {
      const { value } = await reader.read();
      seen.push(value!.type);
      if (value!.type === 'text-delta') break;
    }
    // The next part is awaited from a stalled stream; the reader gives up.
    const pending = reader.read();
    pending.catch(() => undefined);
    await reader.cancel();
    await vi.waitFor(() => expect(east.clientCloses).toBe(closes + 1));
    expect(seen).toContain('text-delta');
  });
});

describe('never twice, never hammer: hedged streams and aborts', () => {
  const hedgedRouter = (clock: ReturnType<typeof createVirtualClock>) =>
    createRouter({
      groups: {
        fast: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east') },
            { id: 'west', provider: gpt(west, 'west') },
          ],
          hedge: { afterMs: 1_000, budget: 1, minPerSecond: 100 },
        },
      },
      clock,
      profile: quickProfile(),
    });

  it('a stream that breaks after its first chunk is not sent again, hedged group or not', async () => {
    const clock = createVirtualClock(0);
    const router = hedgedRouter(clock);
    const sentWest = west.count;
    east.enqueue(openaiReplies.streamText(['o', 'k', '!'], { errorAfter: 1 }));
    const text: string[] = [];
    const error = await caught(
      (async () => {
        for await (const c of router.stream(hello, { deadlineMs: 30_000 })) {
          if (c.type === 'text') text.push(c.text);
          // Time passes while the caller reads: past the hedge delay.
          await clock.advance(2_000);
        }
      })(),
    );
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(text.join('')).toBe('o');
    expect(west.count).toBe(sentWest);
  });

  it("the caller's abort after a hedge closes both requests and throws CancelledError", async () => {
    const clock = createVirtualClock(0);
    const router = hedgedRouter(clock);
    const closes = east.clientCloses + west.clientCloses;
    east.enqueue({ kind: 'hang' });
    west.enqueue({ kind: 'hang' });
    const caller = new AbortController();
    const sentEast = east.count;
    const call = caught(router.chat(hello, { deadlineMs: 30_000, signal: caller.signal }));
    // This call's own request, not an earlier test's: the clock moves only once it is on the wire.
    await vi.waitFor(() => expect(east.count).toBe(sentEast + 1));
    const westBefore = west.count;
    await clock.advance(1_000);
    await vi.waitFor(() => expect(west.count).toBe(westBefore + 1));
    caller.abort();
    expect(await call).toBeInstanceOf(CancelledError);
    await vi.waitFor(() => expect(east.clientCloses + west.clientCloses).toBe(closes + 2));
  });

  it('lost hedges are cancels: a slow deployment that always loses is never opened', async () => {
    const clock = createVirtualClock(0);
    const events: PolicyEvent[] = [];
    const router = createRouter({
      groups: {
        fast: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east'), limits: { rpm: 1_000 } },
            { id: 'west', provider: gpt(west, 'west') },
          ],
          hedge: { afterMs: 1_000, budget: 1, minPerSecond: 100 },
        },
      },
      clock,
      profile: quickProfile(),
      observer: { event: (e) => events.push(e) },
    });
    for (let i = 0; i < 30; i++) {
      east.enqueue({ kind: 'hang' });
      const sentEast = east.count;
      const call = router.chat(hello, { deadlineMs: 30_000 });
      await vi.waitFor(() => expect(east.count).toBe(sentEast + 1));
      await clock.advance(1_000);
      expect((await call).deployment).toBe('west');
    }
    expect(router.routes[0]!.policy.breaker?.state).toBe('closed');
    expect(events.filter((e) => e.type === 'breaker_transition')).toEqual([]);
  });
});

describe('never hammer: a request larger than a deployment limit names no Infinity wait', () => {
  it('skipped for a limit it can never fit, the deployment gives no retryAfterMs a caller would sleep 1 ms on', async () => {
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            { id: 'small', provider: gpt(east, 'east'), limits: { tpm: 100 } },
            { id: 'big', provider: gpt(west, 'west') },
          ],
        },
      },
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    const sentEast = east.count;
    west.enqueue(openaiReplies.error(500));
    const error = await caught(router.chat(hello));
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    const e = error as AllProvidersFailedError;
    expect(east.count).toBe(sentEast);
    expect(e.failures.map((f) => f.deployment)).toEqual(['small', 'big']);
    // setTimeout(retry, Infinity) fires after 1 ms: an infinite wait must not be a number to sleep on.
    for (const f of e.failures) expect(Number.isFinite(f.error.failure.retryAfterMs ?? 0)).toBe(true);
    expect(e.retryAfterMs === undefined || Number.isFinite(e.retryAfterMs)).toBe(true);
    expect(e.message).not.toContain('Infinity');
    expect(e.failures[0]!.error.failure.code).toBe('quota_exceeds_limit');
  });
});

describe('show it all: a group call says on its route span what docs/telemetry.md lists', () => {
  it('deployment skipped (with the reason), moves between deployments and groups (with the class), who served', async () => {
    const otel = installOtel();
    try {
      const router = createRouter({
        groups: {
          smart: {
            deployments: [
              { id: 'tiny', provider: gpt(east, 'east'), contextWindow: 10 },
              { id: 'west', provider: gpt(west, 'west') },
            ],
            fallbacks: { unavailable: 'spare' },
          },
          spare: { deployments: [{ id: 'spare', provider: gpt(east, 'spare') }] },
        },
        profile: quickProfile({ retry: { maxAttempts: 1 } }),
        telemetry: createTelemetry(),
      });
      west.enqueue(openaiReplies.error(500));
      expect((await router.chat(hello)).deployment).toBe('spare');
      const route = otel.span('breakwater.route chat');
      expect(route.attributes['breakwater.group']).toBe('spare');
      expect(route.attributes['breakwater.deployment']).toBe('spare');
      const events = route.events.map((e) => ({ name: e.name, ...e.attributes }));
      expect(events).toContainEqual(
        expect.objectContaining({
          name: 'breakwater.deployment.skipped',
          'breakwater.deployment': 'tiny',
          'breakwater.group': 'smart',
          'breakwater.skip_reason': 'context_too_small',
        }),
      );
      expect(events).toContainEqual(
        expect.objectContaining({
          name: 'breakwater.fallback',
          'breakwater.fallback.from': 'smart',
          'breakwater.fallback.to': 'spare',
          'breakwater.fallback_class': 'unavailable',
        }),
      );
    } finally {
      await otel.uninstall();
    }
  });
});

describe('never forever: any group shape, every call ends by its deadline (property)', () => {
  // Providers that never answer and ignore their signal: only the router's own clocks can end a call.
  const forever = new Promise<never>(() => undefined);
  const deaf = (name: string): Provider => ({
    name,
    model: 'deaf-1',
    chat: () => forever,
    async *stream(): AsyncGenerator<ChatChunk> {
      yield await forever;
    },
  });

  it('chat and stream, hedged or not, quota-held or not, any deadline share', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          share: fc.constantFrom('equal' as const, 'all' as const),
          hedgeMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
          strategy: fc.constantFrom('ordered' as const, 'least-in-flight' as const, 'most-quota' as const),
          held: fc.boolean(),
          deadlineMs: fc.integer({ min: 1, max: 120_000 }),
          stream: fc.boolean(),
          firstChunkMs: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
        }),
        async (c) => {
          const clock = createVirtualClock(0);
          const router = createRouter({
            groups: {
              g: {
                strategy: c.strategy,
                deployments: Array.from({ length: c.n }, (_, i) => ({
                  id: `d${i}`,
                  provider: deaf(`d${i}`),
                  limits: { rpm: 1 },
                })),
                ...(c.hedgeMs !== undefined ? { hedge: { afterMs: c.hedgeMs, budget: 1 } } : {}),
              },
            },
            deadlineShare: c.share,
            clock,
            ...(c.firstChunkMs !== undefined ? { stream: { firstChunkMs: c.firstChunkMs } } : {}),
            profile: quickProfile({
              timeout: { attemptMs: 600_000, totalMs: 600_000 },
              breaker: { windowMs: 1_200_000 },
            }),
          });
          if (c.held) {
            // Each deployment's one request of the minute is spent by calls given up on.
            for (let i = 0; i < c.n; i++) {
              const p = caught(router.chat(hello, { deadlineMs: 10 }));
              await clock.advance(10);
              await p;
            }
          }
          const start = clock.now();
          let settled = false;
          const call = c.stream
            ? (async () => {
                for await (const _ of router.stream(hello, { deadlineMs: c.deadlineMs })) {
                  /* never */
                }
              })()
            : router.chat(hello, { deadlineMs: c.deadlineMs });
          const done = caught(call).finally(() => {
            settled = true;
          });
          // Step to the deadline, letting each step's continuations run.
          for (let t = 0; t < c.deadlineMs && !settled; t = Math.min(c.deadlineMs, t + 500))
            await clock.advance(Math.min(500, c.deadlineMs - t));
          for (let i = 0; i < 20 && !settled; i++) await Promise.resolve();
          expect(settled).toBe(true);
          expect(clock.now() - start).toBeLessThanOrEqual(c.deadlineMs);
          await done;
        },
      ),
      { numRuns: 60, seed: 20261201 },
    );
  });
});

describe('keep working: lowest-latency notices a deployment that stopped answering', () => {
  it('a fast deployment that now hangs is not picked first on every call until its breaker opens', async () => {
    const clock = createVirtualClock(0);
    // In-process providers on the virtual clock: `delay` ms to answer, or never (until aborted).
    const timed = (name: string, delay: () => number | undefined) => {
      let calls = 0;
      const p: Provider = {
        name,
        model: 'm',
        chat: (_r, o) => {
          calls++;
          const ms = delay();
          return new Promise((resolve, reject) => {
            o?.signal?.addEventListener('abort', () => reject(o.signal?.reason), { once: true });
            if (ms !== undefined)
              clock.setTimeout(
                () =>
                  resolve({
                    provider: name,
                    model: 'm',
                    message: { role: 'assistant', content: 'ok' },
                    toolCalls: [],
                    finishReason: 'stop',
                    usage: undefined,
                  }),
                ms,
              );
          });
        },
        stream: () => {
          throw new Error('not used');
        },
      };
      return { p, calls: () => calls };
    };
    let eastDark = false;
    const e = timed('east', () => (eastDark ? undefined : 100));
    const w = timed('west', () => 500);
    const router = createRouter({
      groups: {
        g: {
          strategy: 'lowest-latency',
          deployments: [
            { id: 'east', provider: e.p },
            { id: 'west', provider: w.p },
          ],
        },
      },
      clock,
      random: () => 0,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    const run = async () => {
      const call = router.chat(hello, { deadlineMs: 10_000 });
      let settled = false;
      call
        .finally(() => {
          settled = true;
        })
        .catch(() => undefined);
      while (!settled) await clock.advance(100);
      return call;
    };
    // Both measured: east answers in 100 ms, west in 500 ms.
    await run();
    await run();
    await run();
    expect(e.calls()).toBeGreaterThan(0);
    expect(w.calls()).toBeGreaterThan(0);
    eastDark = true;
    const before = e.calls();
    for (let i = 0; i < 6; i++) expect((await run()).deployment).toBe('west');
    // East hung once (its share, 5 s, then west answered): it must not be tried first every time.
    expect(e.calls() - before).toBeLessThanOrEqual(2);
    expect(router.routes[0]!.policy.breaker?.state).toBe('closed');
  });
});

/** An in-process provider on the virtual clock: each call answers after its scripted ms, fails, or hangs (until aborted). */
function scripted(
  clock: ReturnType<typeof createVirtualClock>,
  name: string,
  script: Array<number | 'fail' | 'hang'>,
) {
  const sent: number[] = [];
  const p: Provider = {
    name,
    model: 'm',
    chat: (_r, o) => {
      sent.push(clock.now());
      const step = script.shift() ?? 0;
      if (step === 'fail') return Promise.reject(new Error('boom'));
      return new Promise((resolve, reject) => {
        o?.signal?.addEventListener('abort', () => reject(o.signal?.reason), { once: true });
        if (step !== 'hang')
          clock.setTimeout(
            () =>
              resolve({
                provider: name,
                model: 'm',
                message: { role: 'assistant', content: 'ok' },
                toolCalls: [],
                finishReason: 'stop',
                usage: undefined,
              }),
            step,
          );
      });
    },
    stream: () => {
      throw new Error('not used');
    },
  };
  return { p, sent };
}

describe('never hammer, but recover: a hedge that probes a half-open deployment and loses', () => {
  it('gives the probe back: the deployment is probed again and closes', async () => {
    const clock = createVirtualClock(0);
    const e = scripted(clock, 'east', ['fail', 1_500, 'fail']);
    const w = scripted(clock, 'west', ['fail', 'hang', 0]);
    const router = createRouter({
      groups: {
        g: {
          deployments: [
            { id: 'east', provider: e.p },
            { id: 'west', provider: w.p },
          ],
          hedge: { afterMs: 1_000, budget: 1 },
        },
      },
      clock,
      profile: quickProfile({
        retry: { maxAttempts: 1 },
        breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 5_000 },
      }),
    });
    const settle = async (p: Promise<unknown>) => {
      let done = false;
      const r = caught(p).finally(() => {
        done = true;
      });
      while (!done) await clock.advance(100);
      return r;
    };
    // Both fail once: both breakers open.
    expect(await settle(router.chat(hello, { deadlineMs: 20_000 }))).toBeInstanceOf(AllProvidersFailedError);
    expect(router.routes.map((r) => r.policy.breaker?.state)).toEqual(['open', 'open']);
    await clock.advance(5_000);
    // East (its probe) answers at 1.5 s; the hedge sent at 1 s is west's probe, and loses.
    const won = router.chat(hello, { deadlineMs: 20_000 });
    await settle(won);
    expect((await won).deployment).toBe('east');
    expect(w.sent.length).toBe(2);
    // East fails: west must be probed again (its lost probe given back), answer, and close.
    const third = router.chat(hello, { deadlineMs: 20_000 });
    await settle(third);
    expect((await third).deployment).toBe('west');
    expect(router.routes[1]!.policy.breaker?.state).toBe('closed');
  });
});

describe('keep working: an answer stopped by the content filter is kept whatever the fallback group does', () => {
  it.each([
    [
      'a content-policy error',
      () => openaiReplies.apiError(400, 'invalid_request_error', 'content_policy_violation'),
    ],
    ['a 400 it refuses the request with', () => openaiReplies.apiError(400, 'invalid_request_error', null)],
    ['a 500', () => openaiReplies.error(500)],
  ])('the fallback group failing with %s returns the kept answer', async (_what, reply) => {
    const router = createRouter({
      groups: {
        a: { deployments: [{ id: 'east', provider: gpt(east, 'east') }], fallbacks: { contentPolicy: 'b' } },
        b: { deployments: [{ id: 'west', provider: gpt(west, 'west') }] },
      },
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    east.enqueue(openaiReplies.rawMessage({ role: 'assistant', content: '' }, 'content_filter'));
    west.enqueue(reply());
    const res = await router.chat(hello, { group: 'a' });
    expect(res).toMatchObject({ deployment: 'east', finishReason: 'content_filter' });
  });
});

describe("never hammer: a group's hedges stay within its budget of calls", () => {
  it('one call that fails over through several deployments counts once against the hedge budget', async () => {
    const clock = createVirtualClock(0);
    const deps = ['a', 'b', 'c', 'd'].map((id) => ({ id, ...scripted(clock, id, ['hang', 'hang']) }));
    const events: PolicyEvent[] = [];
    const router = createRouter({
      groups: {
        g: {
          deployments: deps.map((d) => ({ id: d.id, provider: d.p })),
          // Half of the calls may hedge, and nothing more: one call alone may not.
          hedge: { afterMs: 1_000, budget: 0.5, minPerSecond: 0 },
        },
      },
      clock,
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
      observer: { event: (e) => events.push(e) },
    });
    let done = false;
    const call = caught(router.chat(hello, { deadlineMs: 8_000 })).finally(() => {
      done = true;
    });
    while (!done) await clock.advance(500);
    expect(await call).toBeInstanceOf(AllProvidersFailedError);
    expect(events.filter((e) => e.type === 'hedge_sent')).toEqual([]);
  });
});

describe('never hammer: a retry that waited for quota meets the breaker as it is now', () => {
  it('the breaker opening while a retry waits for room: the retry is not sent', async () => {
    const clock = createVirtualClock(0);
    const router = createRouter({
      groups: {
        smart: {
          retryOn: 'same',
          deployments: [
            {
              id: 'east',
              provider: gpt(east, 'east'),
              // One request a second: the retry waits a second for room, inside its attempt.
              limits: { rpm: 1, windowMs: 1_000 },
            },
          ],
        },
      },
      clock,
      profile: quickProfile(),
    });
    east.enqueue(openaiReplies.error(500), openaiReplies.text('sent again'));
    const call = caught(router.chat(hello, { deadlineMs: 30_000 }));
    await vi.waitFor(() => expect(east.count).toBe(1));
    // While the retry waits for the quota, the breaker opens (an operator isolates it; another call's
    // failure would do the same).
    await vi.waitFor(() => expect(clock.pendingTimers()).toBeGreaterThan(0));
    const release = router.routes[0]!.policy.breaker!.isolate();
    await clock.advance(1_000);
    const error = await call;
    expect(error).toBeInstanceOf(AllProvidersFailedError);
    expect(east.count).toBe(1);
    release();
  });
});
