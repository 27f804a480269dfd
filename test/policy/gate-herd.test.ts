/**
 * The herd of issue 13 through the real `openai` client against a local
 * server: 20 concurrent chats on the `llm` profile with a 10 s deadline; the
 * server answers its first 20 requests (and then the first probes after the
 * cooldown) with 429 and `retry-after-ms: 200`, then everything. Real time,
 * because the calls cross real HTTP; the assertions are counts and outcomes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRouter, openaiProvider } from '../../src/providers/index.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { hello, openaiClient } from '../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let primary: Fake;

beforeEach(async () => {
  primary = await startFakeOpenAI();
});

afterEach(async () => {
  await primary.close();
});

/** 429 with `retry-after-ms: 200` for the first `refused` requests, then `ok` for everything. */
function refuseFirst(server: Fake, refused: number): void {
  server.respond((r) =>
    r.index < refused ? openaiReplies.rateLimited('retry-after-ms', 200) : openaiReplies.text('ok'),
  );
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
      const router = createRouter({
        providers: [openaiProvider(openaiClient(primary.baseURL), { model: 'gpt-test' })],
        profile: 'llm',
      });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => router.chat(hello, { deadlineMs: 10_000 })),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(primary.count).toBeLessThanOrEqual(most);
      expect(primary.requests.filter((r) => r.answer === 429)).toHaveLength(20 + probesRefused);
      expect(router.routes[0]!.policy.gate!.pacedRatePerSecond ?? 1).toBeGreaterThan(0);
    }, 15_000);
  }
});
