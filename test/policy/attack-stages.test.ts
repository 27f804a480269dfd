import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChaosOptions,
  createPolicy,
  createVirtualClock,
  FallbackFailedError,
  ResultRejectedError,
} from '../../src/index.js';
import { caught } from '../fakes/caught.js';

const oneShot = {
  timeout: { attemptMs: 60_000, totalMs: 600_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: false,
  gate: false,
} as const;

describe('chaos is never on by accident: every spelling of production refuses it', () => {
  // A NODE_ENV of "Production" or " production\n" (a .env file, a YAML value) is production all the same.
  const production = fc
    .tuple(
      fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
      fc.constantFrom('', ' ', '\t', '\n', '  '),
      fc.constantFrom('', ' ', '\n', '\r\n'),
    )
    .map(([upper, before, after]) => {
      const word = [...'production'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
      return `${before}${word}${after}`;
    });
  it('NODE_ENV in any case, padded with whitespace: nothing is injected', async () => {
    await fc.assert(
      fc.asyncProperty(production, async (nodeEnv) => {
        let drawn = 0;
        const chaos: ChaosOptions = {
          enabled: true,
          env: { BREAKWATER_CHAOS: '1', NODE_ENV: nodeEnv },
          random: () => {
            drawn++;
            return 0;
          },
          fault: { rate: 1, kind: 'server_error', delivery: 'not_sent' },
        };
        const clock = createVirtualClock(0);
        const policy = createPolicy(oneShot, { clock, dependency: 'payments', chaos });
        let reached = 0;
        const out = await clock.run(
          policy.run(async () => {
            reached++;
            return 'real';
          }),
        );
        expect(out).toBe('real');
        expect(reached).toBe(1);
        expect(drawn).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
