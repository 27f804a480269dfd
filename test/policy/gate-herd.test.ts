/**
 * The herd of issue 13 through the real `openai` client against a local
 * server: 20 concurrent chats on the `llm` profile with a 10 s deadline; the
 * server answers its first 20 requests (and then the first probes after the
 * cooldown) with 429 and `retry-after-ms: 200`, then everything. Time is a
 * step clock that moves only while no request is in flight, so "within the
 * deadline" is exact and the test waits no real cooldown.
 */

import Anthropic from '@anthropic-ai/sdk';
import { createStepClock, openaiReplies } from 'breakwater/testing';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClassifyingFetch } from '../../src/failure/classifying-fetch.js';
import {
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Provider,
} from '../../src/providers/index.js';
import { type ChaosTracker, createChaosTracker, drive, trackedFetch } from '../chaos/http.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { hello } from '../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

const DEADLINE_MS = 10_000;

let primary: Fake;
let secondary: Awaited<ReturnType<typeof startFakeAnthropic>>;
let tracker: ChaosTracker;

beforeEach(async () => {
  [primary, secondary] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  tracker = createChaosTracker();
});

afterEach(async () => {
  await Promise.all([primary.close(), secondary.close()]);
});

/** 429 with `retry-after-ms: 200` for the first `refused` requests, then `ok` for everything. */
function refuseFirst(server: Fake, refused: number): void {
  server.respond((r) =>
    r.index < refused ? openaiReplies.rateLimited('retry-after-ms', 200) : openaiReplies.text('ok'),
  );
}

/** 20 concurrent chats through a router of the primary (and the secondary, when asked); outcomes and end times. */
async function herd(withSecondary = false) {
  const clock = createStepClock();
  const fetch = createClassifyingFetch({ connectTimeoutMs: 2_000, fetch: trackedFetch(tracker) });
  const providers: Provider[] = [
    createOpenAIProvider(
      new OpenAI({ apiKey: 'sk-test', baseURL: primary.baseURL, fetch, logLevel: 'off' }),
      {
        model: 'gpt-test',
      },
    ),
  ];
  if (withSecondary)
    providers.push(
      createAnthropicProvider(
        new Anthropic({ apiKey: 'sk-ant-test', baseURL: secondary.baseURL, fetch, logLevel: 'off' }),
        { model: 'claude-test' },
      ),
    );
  const router = createRouter({ providers, profile: 'llm', clock, random: () => 0.5 });
  const start = clock.now();
  const one = async () => {
    try {
      const r = await router.chat(hello, { deadlineMs: DEADLINE_MS });
      return { ok: true, provider: r.provider, tookMs: clock.now() - start, error: '' };
    } catch (error) {
      return { ok: false, provider: '', tookMs: clock.now() - start, error: String(error) };
    }
  };
  const results = await drive(clock, tracker, Promise.all(Array.from({ length: 20 }, one)));
  return { results, gate: router.routes[0]!.policy.gate! };
}

describe('the herd: 20 concurrent chats meet 20 429s with retry-after-ms 200 (issue 13)', () => {
  for (const probesRefused of [0, 1, 2]) {
    const label = ['', ', and the first probe after the cooldown', ', and the first two probes'][
      probesRefused
    ];
    // 20 answers and the 20 (+ probes) refusals the server is scripted to send: not one request more.
    const most = 40 + probesRefused;
    it(`with one provider, all 20 succeed within the deadline in at most ${most} requests${label}`, async () => {
      refuseFirst(primary, 20 + probesRefused);
      const { results, gate } = await herd();
      expect(results.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
      expect(results.every((r) => r.tookMs <= DEADLINE_MS)).toBe(true);
      expect(primary.count).toBeLessThanOrEqual(most);
      expect(primary.requests.filter((r) => r.answer === 429)).toHaveLength(20 + probesRefused);
      expect(gate.inFlight + gate.queued).toBe(0);
    });
  }

  for (const probesRefused of [0, 1, 2]) {
    const label = ['', ', and the first probe after the cooldown', ', and the first two probes'][
      probesRefused
    ];
    it(`with two providers, all 20 succeed within the deadline${label}`, async () => {
      refuseFirst(primary, 20 + probesRefused);
      const { results } = await herd(true);
      expect(results.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
      expect(results.every((r) => r.tookMs <= DEADLINE_MS)).toBe(true);
      expect(primary.count).toBeLessThanOrEqual(40 + probesRefused);
      // Whatever the primary did not serve, the secondary did: one request each.
      const bySecondary = results.filter((r) => r.provider === 'anthropic').length;
      expect(secondary.count).toBe(bySecondary);
    });
  }

  it('with two providers, every call the primary cannot serve in time is served by the second, at once', async () => {
    // The primary asks for 20 s, twice the deadline: no call can wait for it.
    primary.respond(() => openaiReplies.rateLimited('retry-after-ms', 20_000));
    const { results, gate } = await herd(true);
    expect(results.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
    expect(results.every((r) => r.provider === 'anthropic')).toBe(true);
    // Only the first wave reached the primary; nobody waited in its queue for the deadline.
    expect(primary.count).toBeLessThanOrEqual(16);
    expect(results.every((r) => r.tookMs < DEADLINE_MS)).toBe(true);
    expect(gate.inFlight + gate.queued).toBe(0);
  });
});
