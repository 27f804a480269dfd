/**
 * Chaos over the whole stack, in process and on a virtual clock (see
 * `stack.ts`): every random schedule must keep every promise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { params, runsFor, timeoutFor } from './config.js';
import { runSchedule, worldArb } from './stack.js';

describe('chaos: the whole stack in process, on a virtual clock', () => {
  const numRuns = runsFor(100);
  it(
    `keeps every promise over ${numRuns} random fault schedules`,
    async () => {
      await fc.assert(
        fc.asyncProperty(worldArb, async (spec) => {
          const { violations, unhandled } = await runSchedule(spec);
          expect(violations).toEqual([]);
          expect(unhandled.map(String)).toEqual([]);
        }),
        params(numRuns),
      );
    },
    timeoutFor(numRuns, 100),
  );
});
