/**
 * The chaos runner on scenarios without servers, where the answer is known:
 * schedules from seeds, shrinking to the smallest breaking schedule, replay,
 * and the built-in `settles` and `noUnhandledRejection` invariants.
 */
import { type ChaosSchedule, type Fault, invariants, runChaos, scheduleFromSeed } from 'breakwater/testing';
import { describe, expect, it } from 'vitest';

const shape = {
  targets: ['a', 'b'],
  faults: ['error_500', 'overloaded_529', 'reset_after_processing'] as Fault[],
};
const count = (s: ChaosSchedule, target: string) => (s[target] ?? []).filter((f) => f !== 'none').length;

describe('runChaos', () => {
  it('draws the same schedule from the same seed, within the shape', () => {
    expect(scheduleFromSeed(5, shape)).toEqual(scheduleFromSeed(5, shape));
    for (let seed = 0; seed < 50; seed++) {
      const s = scheduleFromSeed(seed, shape);
      for (const [target, queue] of Object.entries(s)) {
        expect(shape.targets).toContain(target);
        expect(queue.length).toBeLessThanOrEqual(4);
        for (const f of queue) expect(['none', ...shape.faults]).toContain(f);
        expect(queue.at(-1)).not.toBe('none');
      }
    }
  });

  it('shrinks a breaking schedule to the smallest one that still breaks, with the simplest faults', async () => {
    const printed: string[] = [];
    const report = await runChaos({
      ...shape,
      runs: 200,
      seed: 1,
      // Breaks once target a meets two faults, whatever they are.
      scenario: async (faults) => count(faults.schedule, 'a'),
      invariants: { 'a meets at most one fault': invariants.atMost(1, (n: number) => n) },
      print: (line) => printed.push(line),
    });
    expect(report.ok).toBe(false);
    expect(report.failure?.schedule).toEqual({ a: ['error_500', 'error_500'] });
    expect(count(report.failure!.original, 'a')).toBeGreaterThanOrEqual(2);
    expect(printed.join('\n')).toContain(`seed: ${report.failure?.seed}`);
    expect(printed.join('\n')).toContain('schedule: {"a":["error_500","error_500"]}');
    expect(report.text).toBe(printed.join('\n'));
  });

  it('replays a seed without a schedule by drawing it again', async () => {
    const seen: ChaosSchedule[] = [];
    await runChaos({
      ...shape,
      replay: { seed: 99 },
      scenario: async (faults) => seen.push(faults.schedule),
      invariants: {},
    });
    expect(seen).toEqual([scheduleFromSeed(99, shape)]);
  });

  it('passes when every run keeps every invariant, and prints nothing', async () => {
    const printed: string[] = [];
    const report = await runChaos({
      ...shape,
      runs: 20,
      scenario: async () => 0,
      invariants: { zero: (n) => n === 0 },
      print: (line) => printed.push(line),
    });
    expect(report).toMatchObject({ ok: true, runs: 20, text: '' });
    expect(printed).toEqual([]);
  });

  it('reports an unhandled rejection and a scenario that throws, as invariants of their own', async () => {
    const rejecting = await runChaos({
      ...shape,
      runs: 1,
      scenario: async () => {
        void Promise.reject(new Error('forgotten'));
      },
      invariants: {},
      print: () => {},
    });
    expect(rejecting.failure).toMatchObject({ invariant: 'noUnhandledRejection' });
    expect(rejecting.failure?.message).toContain('forgotten');
    const throwing = await runChaos({
      ...shape,
      runs: 1,
      scenario: async () => {
        throw new RangeError('boom');
      },
      invariants: {},
      print: () => {},
    });
    expect(throwing.failure).toMatchObject({
      invariant: 'settles',
      message: 'the scenario threw: RangeError: boom',
    });
  });

  it('endsBy names the deadline it missed', () => {
    const check = invariants.endsBy(1_000, (ms: number) => ms);
    expect(check(1_000, undefined as never)).toBe(true);
    expect(check(1_001, undefined as never)).toBe('ended after 1001 ms, past its deadline of 1000 ms');
  });

  it('refuses a bad run count by name', async () => {
    await expect(runChaos({ ...shape, runs: 0, scenario: async () => 0, invariants: {} })).rejects.toThrow(
      /runs: expected a positive integer, got 0/,
    );
  });
});
