/**
 * An outsider's attack on router v2 (issue 16) through the public API: real
 * SDK clients against the fakes, one `describe` per promise.
 */
import { openaiReplies } from 'breakwater/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIProvider, createRouter, type Provider } from '../../src/providers/index.js';
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
