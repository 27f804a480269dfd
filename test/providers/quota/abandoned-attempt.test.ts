/**
 * An attempt the policy gives up on (its timeout, the deadline, an abort)
 * while a provider deaf to its signal never returns gives its quota
 * reservation back when it is abandoned, counted as possibly sent (its
 * estimate, from then), not when the whole call ends.
 */
import { expect, it } from 'vitest';
import { createVirtualClock } from '../../../src/policy/index.js';
import { type ChatResponse, createRouter, type Provider } from '../../../src/providers/index.js';
import { hello, quickProfile } from '../helpers.js';

const answer = (content: string) =>
  ({
    message: { role: 'assistant', content },
    toolCalls: [],
    finishReason: 'stop',
    provider: 'deaf',
    model: 'deaf-1',
  }) as unknown as ChatResponse;

it("an abandoned attempt's reservation is freed when the attempt ends, not when its call does", async () => {
  const clock = createVirtualClock(0);
  const sent: number[] = [];
  // Request 1 never answers and ignores its abort; request 2 answers after 2.5 s; later ones at once.
  const provider: Provider = {
    name: 'deaf',
    model: 'deaf-1',
    chat: () => {
      sent.push(clock.now());
      if (sent.length === 1) return new Promise<never>(() => undefined);
      if (sent.length === 2)
        return new Promise((resolve) => clock.setTimeout(() => resolve(answer('slow')), 2_500));
      return Promise.resolve(answer('quick'));
    },
    stream: () => {
      throw new Error('not used');
    },
  };
  const router = createRouter({
    // Two requests a second: the abandoned one and the retry fill it while both are held.
    groups: { only: { deployments: [{ provider, limits: { rpm: 2, windowMs: 1_000 } }] } },
    clock,
    profile: quickProfile({
      retry: { maxAttempts: 2 },
      timeout: { attemptMs: 3_000, totalMs: 20_000, connectMs: 1_000 },
    }),
  });

  let longDone = false;
  const long = router.chat(hello, { deadlineMs: 20_000 }).finally(() => {
    longDone = true;
  });
  // t = 3 000: the first attempt times out, abandoned (its request never returns); the retry is sent.
  await clock.advance(3_000);
  expect(sent).toEqual([0, 3_000]);

  // t = 4 500: the abandoned request counted from its abandonment, so it left the window at 4 000.
  // Held until the call ends (5 500), it would keep this request waiting until 6 500.
  await clock.advance(1_500);
  const other = router.chat(hello, { deadlineMs: 20_000 });
  await clock.advance(0);
  expect(sent).toEqual([0, 3_000, 4_500]);
  expect((await other).message.content).toBe('quick');
  expect(longDone).toBe(false);

  await clock.advance(1_000);
  expect((await long).message.content).toBe('slow');
});
