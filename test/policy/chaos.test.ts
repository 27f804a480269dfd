import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  DependencyFailedError,
  OutcomeUnknownError,
  ResultRejectedError,
  TimeoutError,
} from '../../src/failure/errors.js';
import type { ChaosOptions } from '../../src/policy/chaos.js';
import type { PolicyEvent } from '../../src/policy/events.js';
import { createPolicy, type PolicyOptions } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createSeededRandom } from '../../src/testing/prng.js';
import { caught } from '../fakes/caught.js';
import { installOtel } from '../fakes/otel.js';

/** mulberry32 from the testing kit, so that a count or a run is a fact about its seed. */
const seeded = createSeededRandom;

/** A random that answers from a script, then "no" (0.99) for ever: which attempts are tampered with, exactly. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[i++] ?? 0.99;
}

const STAGING = { BREAKWATER_CHAOS: '1', NODE_ENV: 'staging' } as const;

const oneShot: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 60_000 },
  retry: { maxAttempts: 1, budget: false },
  breaker: false,
  gate: false,
};

function setup(chaos: ChaosOptions, profile: ProfileInput = oneShot, extra: PolicyOptions = {}) {
  const clock = createVirtualClock(1_000_000);
  const events: PolicyEvent[] = [];
  const policy = createPolicy(profile, {
    clock,
    random: () => 0.5,
    dependency: 'payments',
    observer: { event: (e) => events.push(e) },
    chaos,
    ...extra,
  });
  return { clock, policy, events };
}

/** Runs `n` calls one after another; returns how many reached the dependency and how many failed. */
async function calls(policy: ReturnType<typeof setup>, n: number) {
  let reached = 0;
  let failed = 0;
  for (let i = 0; i < n; i++) {
    try {
      await policy.clock.run(
        policy.policy.run(async () => {
          reached++;
          return 'ok';
        }),
      );
    } catch {
      failed++;
    }
  }
  return { reached, failed };
}

const faultAt = (rate: number, random: () => number): ChaosOptions => ({
  enabled: true,
  env: STAGING,
  random,
  fault: { rate, kind: 'server_error', delivery: 'not_sent' },
});

describe('fault injection at a rate', () => {
  it('injects at rate 0.1 over 1,000 calls exactly as often as the seed says, every one seen and failed', async () => {
    const p = setup(faultAt(0.1, seeded(42)));
    const { reached, failed } = await calls(p, 1_000);
    const injected = p.events.filter((e) => e.type === 'chaos_injected');
    // The seed's own count: the same on every run, on every machine.
    expect(injected).toHaveLength(101);
    expect(failed).toBe(101);
    expect(reached).toBe(899);
    expect(injected.every((e) => e.type === 'chaos_injected' && e.strategy === 'fault')).toBe(true);
  });

  it('stays within the binomial bounds over many seeds (100 ± 4σ each, the mean within 4σ/√n)', async () => {
    const counts: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const p = setup(faultAt(0.1, seeded(seed)));
      const { failed } = await calls(p, 1_000);
      counts.push(failed);
    }
    // n = 1000, p = 0.1: σ = √(1000 · 0.1 · 0.9) ≈ 9.49.
    const sigma = Math.sqrt(1_000 * 0.1 * 0.9);
    for (const c of counts) {
      expect(c).toBeGreaterThanOrEqual(100 - 4 * sigma);
      expect(c).toBeLessThanOrEqual(100 + 4 * sigma);
    }
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    expect(Math.abs(mean - 100)).toBeLessThanOrEqual((4 * sigma) / Math.sqrt(counts.length));
    // Different seeds, different schedules: the generator is really seeded.
    expect(new Set(counts).size).toBeGreaterThan(5);
  });

  it('rate 0 never injects and rate 1 always does', async () => {
    expect((await calls(setup(faultAt(0, seeded(1))), 50)).failed).toBe(0);
    expect((await calls(setup(faultAt(1, seeded(1))), 50)).reached).toBe(0);
  });
});

describe('chaos is off unless enabled twice, and refused in production', () => {
  const cases: [string, ChaosOptions][] = [
    ['the option off, the variable set', { ...faultAt(1, () => 0), enabled: false }],
    ['the option on, the variable absent', { ...faultAt(1, () => 0), env: { NODE_ENV: 'staging' } }],
    ['the option on, the variable not "1"', { ...faultAt(1, () => 0), env: { BREAKWATER_CHAOS: 'true' } }],
  ];
  for (const [name, chaos] of cases) {
    it(`${name}: inert, no random drawn, no event`, async () => {
      const random = vi.fn(() => 0);
      const p = setup({ ...chaos, random });
      const { reached } = await calls(p, 20);
      expect(reached).toBe(20);
      expect(random).not.toHaveBeenCalled();
      expect(p.events).toEqual([]);
    });
  }

  describe('NODE_ENV=production', () => {
    let warnings: string[];
    const onWarning = (w: Error) => warnings.push(`${(w as { code?: string }).code}`);
    beforeEach(() => {
      warnings = [];
      process.on('warning', onWarning);
    });
    afterEach(() => {
      process.off('warning', onWarning);
    });

    it('refuses, and says so, unless inProduction is set as well', async () => {
      const random = vi.fn(() => 0);
      const prod = { BREAKWATER_CHAOS: '1', NODE_ENV: 'production' };
      const refused = setup({ ...faultAt(1, random), env: prod });
      expect((await calls(refused, 5)).reached).toBe(5);
      expect(random).not.toHaveBeenCalled();
      await new Promise((r) => setImmediate(r));
      expect(warnings).toContain('BREAKWATER_CHAOS_REFUSED');

      const meant = setup({ ...faultAt(1, random), env: prod, inProduction: true });
      expect((await calls(meant, 5)).reached).toBe(0);
    });
  });

  it('reads process.env by default', async () => {
    const before = process.env.BREAKWATER_CHAOS;
    try {
      delete process.env.BREAKWATER_CHAOS;
      const off = setup({
        enabled: true,
        random: () => 0,
        fault: { rate: 1, kind: 'network', delivery: 'not_sent' },
      });
      expect((await calls(off, 3)).reached).toBe(3);
      process.env.BREAKWATER_CHAOS = '1';
      const on = setup({
        enabled: true,
        random: () => 0,
        fault: { rate: 1, kind: 'network', delivery: 'not_sent' },
      });
      expect((await calls(on, 3)).reached).toBe(0);
    } finally {
      if (before === undefined) delete process.env.BREAKWATER_CHAOS;
      else process.env.BREAKWATER_CHAOS = before;
    }
  });

  it('refuses bad options whether or not chaos is on, naming each field', () => {
    const bad = {
      enabled: false,
      latency: { rate: 2, ms: -1 },
      fault: { rate: 0.1, kind: 'circuit_open', delivery: 'maybe', status: 42 },
      outcome: { rate: 0.1, value: 'empty' },
      typo: true,
    } as unknown as ChaosOptions;
    expect(() => setup(bad)).toThrow(RangeError);
    try {
      setup(bad);
    } catch (err) {
      const m = (err as Error).message;
      for (const field of [
        'chaos.latency.rate',
        'chaos.latency.ms',
        'chaos.fault.kind',
        'chaos.fault.delivery',
        'chaos.fault.status',
        'chaos.outcome.value',
        'chaos.typo',
      ])
        expect(m).toContain(field);
    }
  });
});

describe('injected faults take the path real ones take', () => {
  const payment: ProfileInput = {
    extends: 'payment',
    timeout: { attemptMs: 1_000, totalMs: 60_000 },
    retry: { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 100, jitter: 'none' }, budget: false },
    gate: false,
  };

  it('a payment failing "network, not_sent" is retried and charges once', async () => {
    const p = setup(
      {
        enabled: true,
        env: STAGING,
        random: scripted(0),
        fault: { rate: 0.5, kind: 'network', delivery: 'not_sent' },
      },
      payment,
    );
    let charges = 0;
    const v = await p.clock.run(p.policy.run(async () => `ch_${++charges}`));
    expect(v).toBe('ch_1');
    expect(charges).toBe(1);
    expect(p.events.map((e) => e.type)).toEqual(['chaos_injected', 'retry_scheduled']);
  });

  it('a payment failing "timeout, unknown" is not repeated: reconcile is asked, or the outcome is unknown', async () => {
    const fault = { rate: 0.5, kind: 'timeout', delivery: 'unknown' } as const;
    const p = setup({ enabled: true, env: STAGING, random: scripted(0), fault }, payment);
    let charges = 0;
    const err = await caught(p.clock.run(p.policy.run(async () => `ch_${++charges}`)));
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as OutcomeUnknownError).failure).toMatchObject({
      kind: 'timeout',
      delivery: 'unknown',
      code: 'chaos_injected',
    });
    expect(charges).toBe(0);

    const q = setup({ enabled: true, env: STAGING, random: scripted(0), fault }, payment);
    let asked = 0;
    const v = await q.clock.run(
      q.policy.run(async () => 'ch_1', {
        reconcile: async () => {
          asked++;
          return { found: false };
        },
      }),
    );
    expect(asked).toBe(1);
    expect(v).toBe('ch_1');
  });

  it('injected faults count against the breaker like real ones', async () => {
    const p = setup(
      {
        enabled: true,
        env: STAGING,
        random: () => 0,
        fault: { rate: 1, kind: 'server_error', delivery: 'unknown', status: 500 },
      },
      {
        ...oneShot,
        breaker: { mode: 'consecutive', consecutiveFailures: 3, windowMs: 2_000, openMs: 5_000 },
      },
    );
    for (let i = 0; i < 3; i++)
      expect(await caught(p.clock.run(p.policy.run(async () => 'ok')))).toBeInstanceOf(DependencyFailedError);
    expect(await caught(p.clock.run(p.policy.run(async () => 'ok')))).toBeInstanceOf(CircuitOpenError);
  });

  it('injected latency is slept on the policy clock and meets the attempt timeout; the call is then never made', async () => {
    const p = setup({ enabled: true, env: STAGING, random: () => 0, latency: { rate: 1, ms: 5_000 } });
    let reached = 0;
    const err = await caught(
      p.clock.run(
        p.policy.run(async () => {
          reached++;
          return 'late';
        }),
      ),
    );
    expect(err).toBeInstanceOf(TimeoutError);
    await p.clock.advance(10_000);
    expect(reached).toBe(0);
    expect(p.events).toMatchObject([{ type: 'chaos_injected', strategy: 'latency', delayMs: 5_000 }]);

    const q = setup({ enabled: true, env: STAGING, random: () => 0, latency: { rate: 1, ms: 300 } });
    const start = q.clock.now();
    expect(await q.clock.run(q.policy.run(async () => 'slow but fine'))).toBe('slow but fine');
    expect(q.clock.now() - start).toBe(300);
  });

  it('an injected outcome is judged by failOnResult, as a real answer is', async () => {
    const p = setup(
      { enabled: true, env: STAGING, random: () => 0, outcome: { rate: 1, value: () => ({ images: [] }) } },
      { ...oneShot, effect: 'non-idempotent' },
    );
    let reached = 0;
    const err = await caught(
      p.clock.run(
        p.policy.run(
          async () => {
            reached++;
            return { images: ['a.png'] };
          },
          { failOnResult: (v) => v.images.length === 0 },
        ),
      ),
    );
    expect(reached).toBe(0);
    expect(err).toBeInstanceOf(ResultRejectedError);
    expect((err as ResultRejectedError).result).toEqual({ images: [] });
    expect(p.events).toMatchObject([{ type: 'chaos_injected', strategy: 'outcome' }]);
  });
});

describe('chaos in telemetry', () => {
  let otel: ReturnType<typeof installOtel>;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  it('every injection is an event on the attempt span saying which, and a counter; a fallback is an event on the operation', async () => {
    const telemetry = createTelemetry();
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(
      {
        ...oneShot,
        retry: { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 100, jitter: 'none' }, budget: false },
      },
      {
        clock,
        dependency: 'search',
        observer: telemetry.observer({ type: 'policy', name: 'search' }),
        chaos: {
          enabled: true,
          env: STAGING,
          random: scripted(0, 0, 0.99, 0),
          latency: { rate: 0.5, ms: 20 },
          fault: { rate: 0.5, kind: 'overloaded', delivery: 'not_processed', status: 529 },
        },
      },
    );
    // Attempt 1: latency (0) then fault (0). Attempt 2: no latency (0.99), fault (0). Then the fallback.
    const v = await clock.run(policy.run(async () => 'real', { fallback: { value: 'cached' } }));
    expect(v).toBe('cached');
    const attempts = otel.spans().filter((s) => s.name === 'breakwater.attempt search');
    expect(attempts).toHaveLength(2);
    const first = attempts.find((s) => s.attributes['breakwater.attempt'] === 1)!;
    expect(first.events.map((e) => [e.name, e.attributes?.['breakwater.chaos.strategy']])).toEqual([
      ['breakwater.chaos', 'latency'],
      ['breakwater.chaos', 'fault'],
    ]);
    expect(first.events[0]!.attributes).toMatchObject({ 'breakwater.chaos.delay_ms': 20 });
    expect(first.events[1]!.attributes).toMatchObject({
      'breakwater.failure.kind': 'overloaded',
      'breakwater.failure.delivery': 'not_processed',
      'breakwater.failure.status': 529,
    });
    expect(first.attributes).toMatchObject({
      'breakwater.chaos.strategy': 'fault',
      'error.type': 'chaos_injected',
    });
    const operation = otel.span('breakwater search');
    const fallback = operation.events.find((e) => e.name === 'breakwater.fallback_used');
    expect(fallback?.attributes).toMatchObject({
      'breakwater.fallback.outcome': 'failed',
      'breakwater.failure.kind': 'overloaded',
    });
    expect(operation.attributes['breakwater.outcome']).toBe('ok');
    const points = await otel.points();
    const injections = points.filter((p) => p.name === 'breakwater.chaos.injections');
    expect(injections.map((p) => [p.attributes['breakwater.chaos.strategy'], p.value]).sort()).toEqual([
      ['fault', 2],
      ['latency', 1],
    ]);
    expect(points.find((p) => p.name === 'breakwater.fallbacks_used')?.value).toBe(1);
  });

  it('no chaos event, attribute or metric when chaos is off', async () => {
    const telemetry = createTelemetry();
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(oneShot, {
      clock,
      dependency: 'search',
      observer: telemetry.observer({ type: 'policy', name: 'search' }),
      chaos: { ...faultAt(1, () => 0), enabled: false },
    });
    await clock.run(policy.run(async () => 'real'));
    for (const s of otel.spans()) {
      expect(s.events.filter((e) => e.name === 'breakwater.chaos')).toEqual([]);
      expect(s.attributes['breakwater.chaos.strategy']).toBeUndefined();
    }
    expect((await otel.points()).filter((p) => p.name === 'breakwater.chaos.injections')).toEqual([]);
  });
});
