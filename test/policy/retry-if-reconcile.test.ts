import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';

const serverError = () => Object.assign(new Error('HTTP 500'), { status: 500 });

function policy() {
  const clock = createVirtualClock(0);
  return createPolicy(
    { effect: 'non-idempotent', retry: { maxAttempts: 3, budget: false }, breaker: false },
    { clock, dependency: 'pay', random: () => 0 },
  );
}

describe('retryIf and the outcome of a non-idempotent call', () => {
  it('a veto on retrying still reports an outcome that may have taken effect as unknown', async () => {
    let runs = 0;
    const err = await policy()
      .run(
        async () => {
          runs++;
          throw serverError();
        },
        { retryIf: () => false },
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'outcome_unknown', outcome: 'unknown' });
    expect(runs).toBe(1);
  });

  it('is asked only once reconciliation has shown the attempt did not take effect', async () => {
    let asked = 0;
    let runs = 0;
    const err = await policy()
      .run(
        async () => {
          runs++;
          throw serverError();
        },
        {
          reconcile: async () => ({ found: false }),
          retryIf: () => {
            asked++;
            return false;
          },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'dependency_failed', outcome: 'failed' });
    expect(asked).toBe(1);
    expect(runs).toBe(1);
  });
});
