import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/policy/index.js';
import {
  AllProvidersFailedError,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Provider,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let east: Fake;
let west: Fake;
let claude: Fake;

beforeEach(async () => {
  [east, west, claude] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeAnthropic()]);
});

afterEach(async () => {
  await Promise.all([east.close(), west.close(), claude.close()]);
});

const gpt = (f: Fake, name: string): Provider =>
  createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test', name });
const sonnet = (): Provider =>
  createAnthropicProvider(anthropicClient(claude.baseURL), { model: 'claude-test' });

/** A `random` that returns these values in turn, so a weighted pick is known in advance. */
function sequence(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('groups and deployments', () => {
  it('sends a call to the group it names, the default group otherwise, and says which deployment served', async () => {
    const router = createRouter({
      groups: {
        smart: { deployments: [{ provider: gpt(east, 'azure-east'), id: 'east' }] },
        fast: { deployments: [sonnet()] },
      },
      profile: quickProfile(),
    });
    const byDefault = await router.chat(hello);
    expect(byDefault.provider).toBe('azure-east');
    expect(byDefault.deployment).toBe('east');
    const fast = await router.chat(hello, { group: 'fast' });
    expect(fast.provider).toBe('anthropic');
    expect(fast.deployment).toBe('anthropic/claude-test');
    expect(east.count).toBe(1);
    expect(claude.count).toBe(1);
    expect(router.routes.map((r) => r.id)).toEqual(['east', 'anthropic/claude-test']);
  });

  it('names the field and the known groups for an unknown group, before any request', async () => {
    const router = createRouter({ groups: { smart: { deployments: [sonnet()] } } });
    await expect(router.chat(hello, { group: 'smrat' })).rejects.toThrow(
      /group: unknown group 'smrat' \(known: 'smart'\)/,
    );
    const chunks = router.stream(hello, { group: 'nope' });
    await expect(chunks.next()).rejects.toThrow(RangeError);
    expect(claude.count).toBe(0);
  });

  it('checks its options and names the field that is wrong', () => {
    const p = sonnet();
    const cases: Array<[Parameters<typeof createRouter>[0], RegExp]> = [
      [{ providers: [p], groups: { a: { deployments: [p] } } }, /either providers or groups/],
      [{ providers: [] }, /at least one provider/],
      [{ groups: {} }, /groups: at least one group/],
      [{ groups: { a: { deployments: [] } } }, /groups\.a\.deployments: at least one deployment/],
      [
        { groups: { a: { deployments: [{ provider: p, weight: 0 }] } } },
        /groups\.a\.deployments\[0\]\.weight/,
      ],
      [
        { groups: { a: { deployments: [{ provider: p, weight: Number.NaN }] } } },
        /groups\.a\.deployments\[0\]\.weight: expected a positive number/,
      ],
      [
        { groups: { a: { deployments: [{ provider: p, contextWindow: 1.5 }] } } },
        /groups\.a\.deployments\[0\]\.contextWindow: expected a positive integer/,
      ],
      [
        { groups: { a: { deployments: [{ provider: p, limits: { rpm: -1 } }] } } },
        /groups\.a\.deployments\[0\]\.limits\.rpm/,
      ],
      [
        { groups: { a: { deployments: [{ provider: p, limits: { windowMs: 0 } }] } } },
        /groups\.a\.deployments\[0\]\.limits\.windowMs: expected a positive number, got 0/,
      ],
      [
        { groups: { a: { deployments: [p, { provider: sonnet(), id: 'anthropic/claude-test' }] } } },
        /groups\.a\.deployments\[1\]\.id: duplicate deployment id 'anthropic\/claude-test'/,
      ],
      [{ groups: { a: { deployments: [p, p] } } }, /listed twice/],
      [
        { groups: { a: { deployments: [p], fallbacks: { unavailable: 'b' } } } },
        /groups\.a\.fallbacks\.unavailable: unknown group 'b' \(known: 'a'\)/,
      ],
      [
        { groups: { a: { deployments: [p], fallbacks: { contextWindow: 'a' } } } },
        /groups\.a\.fallbacks\.contextWindow: a group cannot fall back to itself/,
      ],
      [
        // @ts-expect-error: a strategy that does not exist
        { groups: { a: { deployments: [p], strategy: 'fastest' } } },
        /groups\.a\.strategy: expected one of 'ordered', 'weighted'/,
      ],
      [{ groups: { a: { deployments: [p] } }, defaultGroup: 'b' }, /defaultGroup: unknown group 'b'/],
      [{ groups: { a: { deployments: [p] } }, maxHops: 1.5 }, /maxHops: expected a non-negative integer/],
    ];
    for (const [options, message] of cases) expect(() => createRouter(options)).toThrow(message);
  });

  it('shares one deployment (and its health) between the groups that list it', () => {
    const shared = { provider: gpt(east, 'azure-east'), id: 'east' };
    const router = createRouter({
      groups: { smart: { deployments: [shared, sonnet()] }, cheap: { deployments: [shared] } },
    });
    expect(router.routes.map((r) => r.id)).toEqual(['east', 'anthropic/claude-test']);
  });

  it('tries a deployment once per call, even when the call reaches a second group that lists it', async () => {
    east.respond(() => openaiReplies.error(500));
    const shared = { provider: gpt(east, 'azure-east'), id: 'east' };
    const router = createRouter({
      groups: {
        cheap: { deployments: [shared], fallbacks: { unavailable: 'smart' } },
        smart: { deployments: [shared, sonnet()] },
      },
      profile: quickProfile({ retry: { maxAttempts: 1 } }),
    });
    expect((await router.chat(hello)).provider).toBe('anthropic');
    expect(east.count).toBe(1);
  });
});

describe('retries in a group', () => {
  it('move to another healthy deployment before retrying the one that failed', async () => {
    east.respond(() => openaiReplies.error(500));
    const router = createRouter({
      groups: { smart: { deployments: [gpt(east, 'east'), gpt(west, 'west')] } },
      profile: quickProfile(),
    });
    const res = await router.chat(hello);
    expect(res.provider).toBe('west');
    // One attempt on east, not two: its retry went to west.
    expect(east.count).toBe(1);
    expect(west.count).toBe(1);
  });

  it("retry on the same deployment first with retryOn: 'same' (the v1 providers form)", async () => {
    east.respond(() => openaiReplies.error(500));
    const router = createRouter({
      groups: { smart: { deployments: [gpt(east, 'east'), gpt(west, 'west')], retryOn: 'same' } },
      profile: quickProfile(),
    });
    expect((await router.chat(hello)).provider).toBe('west');
    expect(east.count).toBe(2);
  });

  it('retry the last deployment as its profile allows once every other has been tried', async () => {
    east.respond(() => openaiReplies.error(500));
    west.enqueue(openaiReplies.error(503));
    const router = createRouter({
      groups: { smart: { deployments: [gpt(east, 'east'), gpt(west, 'west')] } },
      profile: quickProfile(),
    });
    const res = await router.chat(hello);
    expect(res.provider).toBe('west');
    expect(east.count).toBe(1);
    expect(west.count).toBe(2);
  });
});

describe('the weighted strategy', () => {
  it('sends each call where the injected random number falls among the weights', async () => {
    const router = createRouter({
      groups: {
        smart: {
          strategy: 'weighted',
          deployments: [
            { provider: gpt(east, 'east'), weight: 3 },
            { provider: gpt(west, 'west'), weight: 1 },
          ],
        },
      },
      profile: quickProfile(),
      // Points 0.4, 3.2, 2.0, 3.6 on a total weight of 4: east, west, east, west.
      random: sequence([0.1, 0.8, 0.5, 0.9]),
    });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push((await router.chat(hello)).provider);
    expect(served).toEqual(['east', 'west', 'east', 'west']);
  });

  it('never sends a call to a deployment whose breaker is open while another is healthy', async () => {
    east.respond(() => openaiReplies.error(500));
    const router = createRouter({
      groups: {
        smart: {
          strategy: 'weighted',
          deployments: [
            { provider: gpt(east, 'east'), weight: 1000 },
            { provider: gpt(west, 'west'), weight: 1 },
          ],
        },
      },
      profile: quickProfile({
        breaker: {
          mode: 'consecutive',
          consecutiveFailures: 1,
          openMs: 60_000,
          maxOpenMs: 60_000,
          halfOpenProbes: 1,
        },
      }),
    });
    expect((await router.chat(hello)).provider).toBe('west');
    expect(east.count).toBe(1);
    for (let i = 0; i < 10; i++) expect((await router.chat(hello)).provider).toBe('west');
    expect(east.count).toBe(1);
  });
});

describe('the v1 providers form', () => {
  it('is one ordered group named default, served by the first provider', async () => {
    const router = createRouter({ providers: [gpt(east, 'openai'), sonnet()], profile: quickProfile() });
    const res = await router.chat(hello, { group: 'default' });
    expect(res.deployment).toBe('openai/gpt-test');
    expect(claude.count).toBe(0);
  });

  it('lists every deployment that failed in one error', async () => {
    east.respond(() => openaiReplies.error(500));
    claude.respond(() => anthropicReplies.error(500));
    const router = createRouter({ providers: [gpt(east, 'openai'), sonnet()], profile: quickProfile() });
    const err = await router.chat(hello).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailedError);
    expect((err as AllProvidersFailedError).failures.map((f) => [f.deployment, f.group])).toEqual([
      ['openai/gpt-test', 'default'],
      ['anthropic/claude-test', 'default'],
    ]);
  });
});

describe('the least-in-flight strategy', () => {
  it('spreads concurrent calls over the deployments with the fewest in progress', async () => {
    for (const f of [east, west]) f.respond(() => openaiReplies.text('ok', 50));
    const router = createRouter({
      groups: { smart: { strategy: 'least-in-flight', deployments: [gpt(east, 'east'), gpt(west, 'west')] } },
      profile: quickProfile(),
      // Ties go to the first: alone, every call would land on east.
      random: () => 0,
    });
    const served = await Promise.all(Array.from({ length: 6 }, () => router.chat(hello)));
    expect(served.map((r) => r.provider)).toEqual(['east', 'west', 'east', 'west', 'east', 'west']);
    expect([east.count, west.count]).toEqual([3, 3]);
  });
});

describe('the lowest-latency strategy', () => {
  it('follows the decaying average of each deployment’s time to answer', async () => {
    const clock = createVirtualClock(0);
    const took: Record<string, number> = { east: 200, west: 20 };
    /** The real provider, after `took[name]` ms on the router's clock. */
    const timed = (f: Fake, name: string): Provider => {
      const p = gpt(f, name);
      return {
        name: p.name,
        model: p.model,
        chat: async (req, opts) => {
          await clock.advance(took[name]!);
          return p.chat(req, opts);
        },
        stream: (req, opts) => p.stream(req, opts),
      };
    };
    const router = createRouter({
      groups: {
        smart: { strategy: 'lowest-latency', deployments: [timed(east, 'east'), timed(west, 'west')] },
      },
      profile: quickProfile(),
      clock,
      random: () => 0,
    });
    const served: string[] = [];
    const call = async () => served.push((await router.chat(hello)).provider);
    // Neither measured: east (the tie goes first); then west, never measured, counts as fastest.
    for (let i = 0; i < 4; i++) await call();
    expect(served).toEqual(['east', 'west', 'west', 'west']);
    // West slows to 500 ms: its average (20 → 164 → 265) passes east's 200 on the second slow answer.
    took.west = 500;
    served.length = 0;
    for (let i = 0; i < 3; i++) await call();
    expect(served).toEqual(['west', 'west', 'east']);
  });
});

describe('streams through a group', () => {
  it('fail over to another deployment before the first chunk, and name the deployment on the finish', async () => {
    east.respond(() => openaiReplies.error(503));
    west.respond(() => openaiReplies.streamText(['he', 'llo']));
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            { id: 'east', provider: gpt(east, 'east') },
            { id: 'west', provider: gpt(west, 'west') },
          ],
        },
      },
      profile: quickProfile(),
    });
    let text = '';
    let finish: string | undefined;
    for await (const chunk of router.stream(hello, { group: 'smart' })) {
      if (chunk.type === 'text') text += chunk.text;
      if (chunk.type === 'finish') finish = chunk.response.deployment;
    }
    expect(text).toBe('hello');
    expect(finish).toBe('west');
    expect([east.count, west.count]).toEqual([1, 1]);
  });

  it('move to the contentPolicy group on a content-policy error before the first chunk', async () => {
    east.respond(() => openaiReplies.apiError(400, 'invalid_request_error', 'content_policy_violation'));
    const router = createRouter({
      groups: {
        smart: { deployments: [gpt(east, 'east')], fallbacks: { contentPolicy: 'other' } },
        other: { deployments: [sonnet()] },
      },
      profile: quickProfile(),
    });
    const chunks = [];
    for await (const chunk of router.stream(hello)) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.type === 'finish' && last.response.deployment).toBe('anthropic/claude-test');
    expect([east.count, claude.count]).toEqual([1, 1]);
  });
});
