import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type BreakwaterError,
  FallbackFailedError,
  InvalidInputError,
  isBreakwaterError,
  ResultRejectedError,
} from '../../src/failure/errors.js';
import type { FailureKind } from '../../src/failure/failure.js';
import type { PolicyEvent } from '../../src/policy/events.js';
import type { Fallback } from '../../src/policy/fallback.js';
import { createPolicy, type Policy, type RunOptions } from '../../src/policy/pipeline.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { caught } from '../fakes/caught.js';

const http = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status, headers: {} });
const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED', syscall: 'connect' }),
  });

const profile = (effect: 'idempotent' | 'non-idempotent'): ProfileInput => ({
  effect,
  timeout: { attemptMs: 1_000, totalMs: 60_000 },
  retry: { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 100, jitter: 'none' }, budget: false },
  breaker: { mode: 'consecutive', consecutiveFailures: 100, windowMs: 2_000 },
  gate: { concurrency: 1, maxQueue: 0, queueTimeoutMs: null, rate: null },
});

interface Scenario {
  /** Runs one call of `policy` that ends with a failure of the kind, the fallback given. */
  run(policy: Policy, clock: VirtualClock, options: RunOptions<string>): Promise<string>;
  /** Whether a non-idempotent call ending so may have taken effect. */
  readonly unknownWhenNonIdempotent: boolean;
}

const failing = (make: () => unknown, unknownWhenNonIdempotent: boolean): Scenario => ({
  run: (policy, clock, options) =>
    clock.run(
      policy.run(async () => {
        throw make();
      }, options),
    ),
  unknownWhenNonIdempotent,
});

/** The value or the error: a fallback turns some rejections into values. */
const settled = <T>(p: Promise<T>): Promise<T | unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

const SCENARIOS: Record<FailureKind, Scenario> = {
  timeout: {
    run: (policy, clock, options) => clock.run(policy.run(() => new Promise<string>(() => {}), options)),
    unknownWhenNonIdempotent: true,
  },
  rate_limited: failing(() => http(429), false),
  overloaded: failing(() => http(529), false),
  server_error: failing(() => http(500), true),
  network: failing(refused, false),
  conflict: failing(() => http(409), false),
  client_error: failing(() => http(400), false),
  auth: failing(() => http(401), false),
  invalid_input: failing(
    () =>
      new InvalidInputError({
        failure: { kind: 'invalid_input', delivery: 'not_sent', message: 'bad city', cause: undefined },
        issues: [{ path: 'city', message: 'bad city' }],
      }),
    false,
  ),
  unknown: failing(() => new Error('odd'), true),
  circuit_open: {
    run: (policy, clock, options) => {
      policy.breaker?.isolate();
      return clock.run(policy.run(async () => 'served', options));
    },
    unknownWhenNonIdempotent: false,
  },
  gate_rejected: {
    run: async (policy, clock, options) => {
      const hold = new AbortController();
      const first = policy.run(() => new Promise<string>(() => {}), {
        signal: hold.signal,
        deadlineMs: 1_000_000,
      });
      first.catch(() => {});
      try {
        return await clock.run(policy.run(async () => 'served', options));
      } finally {
        hold.abort();
      }
    },
    unknownWhenNonIdempotent: false,
  },
  cancelled: {
    run: (policy, clock, options) => {
      const c = new AbortController();
      c.abort();
      return clock.run(policy.run(async () => 'served', { ...options, signal: c.signal }));
    },
    unknownWhenNonIdempotent: false,
  },
};

function setup(effect: 'idempotent' | 'non-idempotent') {
  const clock = createVirtualClock(1_000_000);
  const events: PolicyEvent[] = [];
  const policy = createPolicy(profile(effect), {
    clock,
    random: () => 0.5,
    dependency: 'weather',
    observer: { event: (e) => events.push(e) },
  });
  return { clock, policy, events };
}

const BY_DEFAULT_NOT: readonly FailureKind[] = ['cancelled', 'invalid_input'];

describe('fallback: each failure kind, each effect', () => {
  for (const effect of ['idempotent', 'non-idempotent'] as const) {
    for (const [kind, scenario] of Object.entries(SCENARIOS) as [FailureKind, Scenario][]) {
      const unknown = effect === 'non-idempotent' && scenario.unknownWhenNonIdempotent;
      const byDefault = !BY_DEFAULT_NOT.includes(kind) && !unknown;

      it(`${effect}, ${kind}: the default fallback ${byDefault ? 'answers' : 'does not answer'}${unknown ? ' (outcome unknown)' : ''}`, async () => {
        const { clock, policy, events } = setup(effect);
        const fallback: Fallback<string> = { value: 'sunny, probably' };
        const result = await settled(scenario.run(policy, clock, { fallback }));
        if (byDefault) {
          expect(result).toBe('sunny, probably');
          expect(events.filter((e) => e.type === 'fallback_used')).toMatchObject([
            { dependency: 'weather', failure: { kind }, outcome: 'failed' },
          ]);
        } else {
          expect(isBreakwaterError(result)).toBe(true);
          expect((result as BreakwaterError).failure.kind).toBe(kind);
          expect((result as BreakwaterError).outcome).toBe(unknown ? 'unknown' : 'failed');
          expect(events.some((e) => e.type === 'fallback_used')).toBe(false);
        }
      });

      it(`${effect}, ${kind}: a fallback naming the kind answers it (an unknown outcome only when allowed), one naming another does not`, async () => {
        const named = setup(effect);
        const given: BreakwaterError[] = [];
        const answered = await settled(
          SCENARIOS[kind].run(named.policy, named.clock, {
            fallback: {
              kinds: [kind],
              unknownOutcome: 'fallback',
              run: (err) => {
                given.push(err);
                return 'from cache';
              },
            },
          }),
        );
        expect(answered).toBe('from cache');
        expect(given).toHaveLength(1);
        expect(given[0]!.failure.kind).toBe(kind);
        expect(given[0]!.outcome).toBe(unknown ? 'unknown' : 'failed');
        expect(named.events.filter((e) => e.type === 'fallback_used')).toMatchObject([
          { outcome: unknown ? 'unknown' : 'failed' },
        ]);

        const other = setup(effect);
        const notAnswered = await caught(
          SCENARIOS[kind].run(other.policy, other.clock, {
            fallback: { kinds: [kind === 'auth' ? 'timeout' : 'auth'], value: 'from cache' },
          }),
        );
        expect(isBreakwaterError(notAnswered)).toBe(true);
      });
    }
  }
});

describe('fallback', () => {
  it('comes after the retries: every attempt is spent first', async () => {
    const { clock, policy } = setup('idempotent');
    let calls = 0;
    const v = await clock.run(
      policy.run(
        async () => {
          calls++;
          throw http(503);
        },
        { fallback: { value: 'stale' } },
      ),
    );
    expect(v).toBe('stale');
    expect(calls).toBe(2);
  });

  it('answers a non-idempotent call whose answer was rejected only when allowed to cover an unknown outcome', async () => {
    const image = async () => ({ url: undefined as string | undefined });
    const rejectEmpty = (v: { url: string | undefined }) => v.url === undefined;
    const placeholder = { url: 'https://cdn.example/placeholder.png' };

    const strict = setup('non-idempotent');
    const err = await caught(
      strict.clock.run(
        strict.policy.run(image, { failOnResult: rejectEmpty, fallback: { value: placeholder } }),
      ),
    );
    expect(err).toBeInstanceOf(ResultRejectedError);
    expect((err as ResultRejectedError).outcome).toBe('unknown');

    const lenient = setup('non-idempotent');
    let calls = 0;
    const v = await lenient.clock.run(
      lenient.policy.run(
        async () => {
          calls++;
          return image();
        },
        { failOnResult: rejectEmpty, fallback: { value: placeholder, unknownOutcome: 'fallback' } },
      ),
    );
    expect(v).toBe(placeholder);
    expect(calls).toBe(1);
  });

  it('a fallback that throws surfaces FallbackFailedError: the original as its cause, its outcome kept, the thrown message not copied', async () => {
    const { clock, policy } = setup('non-idempotent');
    const thrown = new RangeError('cache miss for user alice@example.com');
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            throw http(500);
          },
          {
            fallback: {
              unknownOutcome: 'fallback',
              run: () => {
                throw thrown;
              },
            },
          },
        ),
      ),
    );
    expect(err).toBeInstanceOf(FallbackFailedError);
    const e = err as FallbackFailedError;
    expect(e.code).toBe('fallback_failed');
    expect(e.fallbackError).toBe(thrown);
    expect(isBreakwaterError(e.cause, 'outcome_unknown')).toBe(true);
    expect(e.outcome).toBe('unknown');
    expect(e.retryable).toBe(false);
    expect(e.failure.kind).toBe('server_error');
    expect(e.message).toContain('the fallback threw RangeError on weather');
    expect(e.message).not.toContain('alice');
    expect(inspect(e)).toContain('HTTP 500');
  });

  it('an async fallback that rejects is the same', async () => {
    const { clock, policy } = setup('idempotent');
    const err = await caught(
      clock.run(
        policy.run(
          async () => {
            throw http(400);
          },
          { fallback: { run: async () => Promise.reject(new Error('down too')) } },
        ),
      ),
    );
    expect(err).toBeInstanceOf(FallbackFailedError);
    expect((err as FallbackFailedError).outcome).toBe('failed');
    expect(isBreakwaterError((err as FallbackFailedError).cause, 'dependency_failed')).toBe(true);
  });

  it('gives the function the caller signal', async () => {
    const { clock, policy } = setup('idempotent');
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    await clock.run(
      policy.run(
        async () => {
          throw http(400);
        },
        {
          signal: caller.signal,
          fallback: {
            run: (_err, { signal }) => {
              seen = signal;
              return 'x';
            },
          },
        },
      ),
    );
    expect(seen).toBe(caller.signal);
  });

  it('refuses a malformed fallback before anything runs, naming the field', async () => {
    const { policy } = setup('idempotent');
    let calls = 0;
    const fn = async () => {
      calls++;
      return 'x';
    };
    const cases: [unknown, string][] = [
      [{}, 'fallback: must have exactly one of value'],
      [{ value: 1, run: () => 2 }, 'fallback: must have exactly one of value'],
      [{ run: 'x' }, 'fallback.run: must be a function'],
      [{ value: 1, kinds: ['timeout', 'boom'] }, 'fallback.kinds.1: must be one of'],
      [{ value: 1, kinds: [] }, 'fallback.kinds: must be a non-empty array'],
      [{ value: 1, unknownOutcome: 'sometimes' }, 'fallback.unknownOutcome: must be "throw" or "fallback"'],
    ];
    for (const [fallback, message] of cases) {
      const err = await caught(policy.run(fn, { fallback: fallback as Fallback<string> }));
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain(message);
    }
    expect(calls).toBe(0);
  });

  it('a value of undefined is a value', async () => {
    const { clock, policy } = setup('idempotent');
    const v = await clock.run(
      policy.run<string | undefined>(
        async () => {
          throw http(400);
        },
        { fallback: { value: undefined } },
      ),
    );
    expect(v).toBeUndefined();
  });
});
