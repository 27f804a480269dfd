/**
 * Each deployment's quota in the router, through the real clients against the
 * rate-limited local server: its headers feed the quota, a deployment out of
 * quota is skipped while another has room, and `most-quota` spreads the load
 * by what each has left — with no 429 anywhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAIProvider, createRouter } from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { installOtel } from '../fakes/otel.js';
import { type RateLimitedLlm, startRateLimitedLlm } from '../fakes/rate-limited-llm.js';
import { anthropicClient, hello, openaiClient, quickProfile } from './helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function limited(dialect: 'openai' | 'anthropic', requests: number): Promise<RateLimitedLlm> {
  const s = await startRateLimitedLlm({ dialect, requests, requestsWindowMs: 60_000 });
  servers.push(s);
  return s;
}

describe('a deployment out of quota', () => {
  it('is skipped, with no request, while another has room: its server never answers 429', async () => {
    const otel = installOtel();
    try {
      const a = await limited('openai', 2);
      const b = await limited('openai', 100);
      const router = createRouter({
        groups: {
          smart: {
            deployments: [
              { id: 'a', provider: createOpenAIProvider(openaiClient(a.baseURL), { model: 'gpt-test' }) },
              { id: 'b', provider: createOpenAIProvider(openaiClient(b.baseURL), { model: 'gpt-test' }) },
            ],
          },
        },
        profile: quickProfile(),
        telemetry: createTelemetry(),
      });
      const served: string[] = [];
      for (let i = 0; i < 4; i++) served.push((await router.chat(hello)).deployment!);
      // a's headers said it had 1, then 0 requests left for a minute.
      expect(served).toEqual(['a', 'a', 'b', 'b']);
      expect(a.stats()).toMatchObject({ accepted: 2, limited: 0 });
      const skips = otel
        .spans()
        .filter((s) => s.name === 'breakwater.route chat')
        .flatMap((s) => s.events.filter((e) => e.name === 'breakwater.deployment.skipped'))
        .map((e) => [e.attributes?.['breakwater.deployment'], e.attributes?.['breakwater.skip_reason']]);
      expect(skips).toEqual([
        ['a', 'no_quota'],
        ['a', 'no_quota'],
      ]);
    } finally {
      await otel.uninstall();
    }
  });

  it('is skipped by its configured limits before any header is seen', async () => {
    const a = await startFakeOpenAI();
    const b = await startFakeOpenAI();
    servers.push(a, b);
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            {
              id: 'a',
              provider: createOpenAIProvider(openaiClient(a.baseURL), { model: 'gpt-test' }),
              limits: { rpm: 1 },
            },
            { id: 'b', provider: createOpenAIProvider(openaiClient(b.baseURL), { model: 'gpt-test' }) },
          ],
        },
      },
      profile: quickProfile(),
    });
    const served: string[] = [];
    for (let i = 0; i < 3; i++) served.push((await router.chat(hello)).deployment!);
    expect(served).toEqual(['a', 'b', 'b']);
    expect(a.count).toBe(1);
  });
});

describe('the most-quota strategy', () => {
  it('sends each call where the most is left, from OpenAI and Anthropic headers alike', async () => {
    const a = await limited('openai', 10);
    const b = await limited('anthropic', 10);
    const router = createRouter({
      groups: {
        smart: {
          strategy: 'most-quota',
          deployments: [
            { id: 'a', provider: createOpenAIProvider(openaiClient(a.baseURL), { model: 'gpt-test' }) },
            {
              id: 'b',
              provider: createAnthropicProvider(anthropicClient(b.baseURL), { model: 'claude-test' }),
            },
          ],
        },
      },
      profile: quickProfile(),
      random: () => 0,
    });
    const served: string[] = [];
    for (let i = 0; i < 8; i++) served.push((await router.chat(hello)).deployment!);
    // a first (a tie of unknowns); b, unknown, counts as full; then whichever has more left.
    expect(served).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect([a.stats().limited, b.stats().limited]).toEqual([0, 0]);
  });

  it('calls waiting for room spread over the deployments short of it, rather than piling onto the first', async () => {
    const a = await startRateLimitedLlm({ dialect: 'openai', requests: 2, requestsWindowMs: 300 });
    const b = await startRateLimitedLlm({ dialect: 'openai', requests: 2, requestsWindowMs: 300 });
    servers.push(a, b);
    const limits = { rpm: 2, windowMs: 300 };
    const router = createRouter({
      groups: {
        smart: {
          strategy: 'most-quota',
          deployments: [
            {
              id: 'a',
              provider: createOpenAIProvider(openaiClient(a.baseURL), { model: 'gpt-test' }),
              limits,
            },
            {
              id: 'b',
              provider: createOpenAIProvider(openaiClient(b.baseURL), { model: 'gpt-test' }),
              limits,
            },
          ],
        },
      },
      profile: quickProfile(),
      random: () => 0,
    });
    // Two go to each at once; the four left wait, two on each, and go when each has room again.
    const served = await Promise.all(Array.from({ length: 8 }, () => router.chat(hello)));
    const on = (id: string) => served.filter((r) => r.deployment === id).length;
    expect([on('a'), on('b')]).toEqual([4, 4]);
    expect([a.stats().limited, b.stats().limited]).toEqual([0, 0]);
  });
});
