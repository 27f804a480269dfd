import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DependencyFailedError } from '../../src/failure/errors.js';
import type { AttemptInfo, AttemptOutcome, PolicyEvent, PolicyObserver } from '../../src/policy/events.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createRegistry } from '../../src/tools/registry.js';
import { caught } from '../fakes/caught.js';
import { installOtel } from '../fakes/otel.js';

const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status, headers: {} });

/** Concurrency 1: one leaked slot and every later call is refused. */
const single: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 10_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 1_000, windowMs: 2_000 },
  gate: { concurrency: 1, maxQueue: 0, queueTimeoutMs: 1_000, rate: null },
};

let warnings: { message: string; code: string | undefined }[] = [];
const onWarning = (w: Error & { code?: string }) => warnings.push({ message: w.message, code: w.code });
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
/** Process warnings are emitted on the next tick. */
const tick = () => new Promise((r) => setImmediate(r));

describe('observers side by side', () => {
  it('a throwing observer on a breaker transition leaks no gate slot and changes no outcome (issue 12 item 11)', async () => {
    const clock = createVirtualClock(1_000);
    const policy = createPolicy(single, {
      clock,
      dependency: 'dep',
      observer: {
        name: 'exploding',
        event(e) {
          if (e.type === 'breaker_transition') throw new Error('exporter down');
        },
      },
    });
    // The failure trips the breaker (closed → open): the observer throws inside that transition.
    const first = await caught(clock.run(policy.run(() => Promise.reject(httpError(500)))));
    expect(first).toBeInstanceOf(DependencyFailedError);
    expect(policy.gate?.inFlight).toBe(0);
    expect(policy.breaker?.state).toBe('open');
    // After the open period the probe goes through (half-open, then closed: two more throwing transitions).
    await clock.advance(1_000);
    expect(await clock.run(policy.run(() => 'ok'))).toBe('ok');
    expect(await clock.run(policy.run(() => 'again'))).toBe('again');
    expect(policy.gate?.inFlight).toBe(0);
    await tick();
    const reported = warnings.filter((w) => w.code === 'BREAKWATER_OBSERVER_FAILED');
    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toContain('"exploding"');
  });

  it('any number of observers hear every event, and each can be removed', async () => {
    const clock = createVirtualClock(1_000);
    const a: PolicyEvent[] = [];
    const b: PolicyEvent[] = [];
    const policy = createPolicy(single, { clock, observer: [{ event: (e) => a.push(e) }] });
    const remove = policy.observe({ event: (e) => b.push(e) });
    await caught(clock.run(policy.run(() => Promise.reject(httpError(500)))));
    expect(a.map((e) => e.type)).toEqual(['breaker_transition']);
    expect(b.map((e) => e.type)).toEqual(['breaker_transition']);
    remove();
    await caught(clock.run(policy.run(() => 'refused')));
    expect(a.map((e) => e.type)).toEqual(['breaker_transition', 'rejected']);
    expect(b).toHaveLength(1);
  });

  it('wrappers that throw, reject, skip or replace run still get the function run exactly once, with its own result', async () => {
    const clock = createVirtualClock(1_000);
    const order: string[] = [];
    const misbehaving: PolicyObserver[] = [
      {
        name: 'outer',
        operation<T>(_info: unknown, run: () => Promise<T>) {
          order.push('outer');
          return run();
        },
      },
      {
        name: 'throws-first',
        attempt() {
          throw new Error('sync');
        },
      },
      {
        name: 'never-calls',
        attempt<T>(): Promise<AttemptOutcome<T>> {
          return Promise.resolve({ ok: true, value: 'forged' as T });
        },
      },
      {
        name: 'rejects-after',
        async attempt<T>(_info: unknown, run: () => Promise<AttemptOutcome<T>>) {
          await run();
          await run();
          throw new Error('late');
        },
      },
    ];
    const policy = createPolicy({ ...single, gate: false }, { clock, observer: misbehaving });
    let calls = 0;
    const value = await clock.run(
      policy.run(async () => {
        calls++;
        return 'real';
      }),
    );
    expect(value).toBe('real');
    expect(calls).toBe(1);
    expect(order).toEqual(['outer']);
    await tick();
    const names = warnings
      .filter((w) => w.code === 'BREAKWATER_OBSERVER_FAILED')
      .map((w) => /"(.+?)"/.exec(w.message)?.[1]);
    expect(names.sort()).toEqual(['never-calls', 'rejects-after', 'throws-first']);
  });

  it('an operation wrapper passing on the call’s own failure is no observer failure', async () => {
    const clock = createVirtualClock(1_000);
    const policy = createPolicy(
      { ...single, gate: false },
      {
        clock,
        observer: {
          name: 'passes-on',
          operation<T>(_info: unknown, run: () => Promise<T>) {
            return run();
          },
        },
      },
    );
    expect(await caught(clock.run(policy.run(() => Promise.reject(httpError(500)))))).toBeInstanceOf(
      DependencyFailedError,
    );
    await tick();
    expect(warnings.filter((w) => w.code === 'BREAKWATER_OBSERVER_FAILED')).toHaveLength(0);
  });
});

describe('a user observer beside telemetry', () => {
  it('a registry given both keeps telemetry’s spans and tells the user’s observer too (issue 13)', async () => {
    const otel = installOtel();
    try {
      const clock = createVirtualClock(1_000);
      const mine: string[] = [];
      const registry = createRegistry({
        clock,
        telemetry: createTelemetry(),
        observer: {
          name: 'mine',
          attempt<T>(info: AttemptInfo, run: () => Promise<AttemptOutcome<T>>) {
            mine.push(`attempt ${info.attempt}`);
            return run();
          },
        },
      });
      registry.register({ name: 'lookup', input: z.object({}), execute: () => 'found' });
      expect(await clock.run(registry.call('lookup', {}))).toBe('found');
      expect(mine).toEqual(['attempt 1']);
      expect(otel.spans().some((s) => s.name === 'breakwater.attempt lookup')).toBe(true);
    } finally {
      await otel.uninstall();
    }
  });
});
