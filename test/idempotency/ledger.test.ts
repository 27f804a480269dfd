import { describe, expect, it } from 'vitest';
import { CancelledError, isBreakwaterError } from '../../src/failure/errors.js';
import {
  IdempotencyKeyReusedError,
  LedgerUnavailableError,
  OperationInFlightError,
  PreviousOutcomeUnknownError,
  ReplayUnavailableError,
} from '../../src/idempotency/errors.js';
import { createLedger, type LedgerRunOptions } from '../../src/idempotency/ledger.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createMemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';

function setup() {
  const clock = createVirtualClock(1_000_000);
  const store = createMemoryStore({ clock });
  const ledger = createLedger({ store, clock, ttlMs: 60_000, pollMs: 10 });
  return { clock, store, ledger };
}

const base: LedgerRunOptions = {
  key: 'k1',
  fingerprint: 'fp-a',
  leaseMs: 5_000,
  takeOver: false,
  recordUnknown: (err) => isBreakwaterError(err) && err.code === 'outcome_unknown',
};

/** A function that counts its runs and settles when the test says so (even if told before it runs). */
function gated<T>() {
  let runs = 0;
  let release!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const settled = new Promise<T>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  settled.catch(() => {});
  return {
    fn: () => {
      runs++;
      return settled;
    },
    get runs() {
      return runs;
    },
    release: (v: T) => release(v),
    fail: (e: unknown) => fail(e),
  };
}

/** Lets promise chains (store round trips included) run to their next real wait. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const outcomeUnknown = () =>
  Object.assign(new Error('x'), {
    [Symbol.for('breakwater.error')]: true,
    code: 'outcome_unknown',
    failure: { message: 'HTTP 500' },
  });

describe('ledger', () => {
  it('runs once, then replays the recorded result without running', async () => {
    const { ledger } = setup();
    let runs = 0;
    const fn = async () => ({ charge: ++runs });
    expect(await ledger.run(base, fn)).toEqual({ value: { charge: 1 }, source: 'executed' });
    expect(await ledger.run(base, fn)).toEqual({ value: { charge: 1 }, source: 'replayed' });
    expect(runs).toBe(1);
  });

  it('a twin arriving while the first is in flight joins it', async () => {
    const { ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    const twin = ledger.run(base, g.fn);
    await settle();
    g.release('done');
    expect(await first).toEqual({ value: 'done', source: 'executed' });
    expect(await twin).toEqual({ value: 'done', source: 'joined' });
    expect(g.runs).toBe(1);
  });

  it('a twin shares the first call failure', async () => {
    const { ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    const twin = ledger.run(base, g.fn);
    const boom = new Error('definite');
    await settle();
    g.fail(boom);
    expect(await rejection(first)).toBe(boom);
    expect(await rejection(twin)).toBe(boom);
  });

  it('refuses the same key with different input, in flight and after', async () => {
    const { ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    expect(await rejection(ledger.run({ ...base, fingerprint: 'fp-b' }, g.fn))).toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    g.release('ok');
    await first;
    const err = await rejection(ledger.run({ ...base, fingerprint: 'fp-b' }, g.fn));
    expect(err).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(err).toMatchObject({ code: 'invalid_input', retryable: false });
    expect(g.runs).toBe(1);
  });

  it('records an outcome-unknown failure, so a later call with the key is refused', async () => {
    const { ledger } = setup();
    let runs = 0;
    const failing = async () => {
      runs++;
      throw outcomeUnknown();
    };
    await rejection(ledger.run(base, failing));
    const err = await rejection(ledger.run(base, async () => 'second'));
    expect(err).toBeInstanceOf(PreviousOutcomeUnknownError);
    expect(err).toMatchObject({ code: 'outcome_unknown', outcome: 'unknown' });
    expect((err as Error).message).toMatch(/HTTP 500/);
    expect(runs).toBe(1);
  });

  it('frees the key after a definite failure, so a later call may run', async () => {
    const { ledger } = setup();
    await rejection(
      ledger.run(base, async () => {
        throw new Error('declined');
      }),
    );
    expect(await ledger.run(base, async () => 'retried')).toEqual({ value: 'retried', source: 'executed' });
  });

  it('a twin in another process polls until the owner records its result', async () => {
    const { clock, store, ledger } = setup();
    const other = createLedger({ store, clock, ttlMs: 60_000, pollMs: 10 });
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    await clock.advance(0);
    let twinRuns = 0;
    const twin = other.run({ ...base, deadlineAt: clock.now() + 1_000 }, async () => `twin ${++twinRuns}`);
    await clock.advance(35);
    g.release('owner');
    await first;
    await clock.advance(10);
    expect(await twin).toEqual({ value: 'owner', source: 'replayed' });
    expect(twinRuns).toBe(0);
  });

  it('a twin that runs out of time while waiting is told the outcome is unknown, and may ask again', async () => {
    const { clock, ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    const twin = ledger.run({ ...base, deadlineAt: clock.now() + 100 }, g.fn);
    const waiting = rejection(twin);
    await clock.advance(100);
    const err = await waiting;
    expect(err).toBeInstanceOf(OperationInFlightError);
    expect(err).toMatchObject({ code: 'outcome_unknown' });
    g.release('late');
    await first;
    expect(await ledger.run(base, g.fn)).toEqual({ value: 'late', source: 'replayed' });
  });

  it('a twin cancelled by its caller stops waiting; the owner carries on', async () => {
    const { ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    const ctrl = new AbortController();
    const twin = rejection(ledger.run({ ...base, signal: ctrl.signal }, g.fn));
    ctrl.abort();
    expect(await twin).toBeInstanceOf(OperationInFlightError);
    g.release('fine');
    expect(await first).toEqual({ value: 'fine', source: 'executed' });
  });

  it('a twin whose caller had already given up does not wait at all', async () => {
    const { ledger } = setup();
    const g = gated<string>();
    const first = ledger.run(base, g.fn);
    const ctrl = new AbortController();
    ctrl.abort();
    expect(await rejection(ledger.run({ ...base, signal: ctrl.signal }, g.fn))).toBeInstanceOf(
      OperationInFlightError,
    );
    g.release('fine');
    await first;
  });

  it('when the owner is cancelled before running, a twin that was not takes over', async () => {
    const { ledger } = setup();
    const ctrl = new AbortController();
    ctrl.abort();
    const first = ledger.run({ ...base, signal: ctrl.signal }, async () => 'never');
    const twin = ledger.run(base, async () => 'twin ran');
    expect(await rejection(first)).toBeInstanceOf(CancelledError);
    expect(await twin).toEqual({ value: 'twin ran', source: 'executed' });
  });

  it('an abandoned claim is recorded as unknown when repeating is unsafe', async () => {
    const { clock, store, ledger } = setup();
    const claim = JSON.stringify({ state: 'pending', fp: 'fp-a', owner: 'dead', until: clock.now() + 50 });
    await store.setIfAbsent('ledger:k1', claim, 60_000);
    await clock.advance(60);
    let runs = 0;
    const err = await rejection(ledger.run(base, async () => ++runs));
    expect(err).toBeInstanceOf(PreviousOutcomeUnknownError);
    expect((err as Error).message).toMatch(/did not report back/);
    expect(runs).toBe(0);
  });

  it('an abandoned claim is taken over when repeating is safe', async () => {
    const { clock, store, ledger } = setup();
    const claim = JSON.stringify({ state: 'pending', fp: 'fp-a', owner: 'dead', until: clock.now() + 50 });
    await store.setIfAbsent('ledger:k1', claim, 60_000);
    await clock.advance(60);
    expect(await ledger.run({ ...base, takeOver: true }, async () => 'again')).toEqual({
      value: 'again',
      source: 'executed',
    });
  });

  it('an unserializable result is returned once and never replayed as something else', async () => {
    const { ledger } = setup();
    const value = { n: 1n };
    expect((await ledger.run(base, async () => value)).value).toBe(value);
    expect(await rejection(ledger.run(base, async () => value))).toBeInstanceOf(ReplayUnavailableError);
  });

  it('a store that does not answer refuses the call before running it', async () => {
    const broken: StateStore = {
      setIfAbsent: () => Promise.reject(new Error('ECONNREFUSED')),
      get: () => Promise.reject(new Error('down')),
      compareAndSet: () => Promise.reject(new Error('down')),
      compareAndDelete: () => Promise.reject(new Error('down')),
    };
    const ledger = createLedger({ store: broken });
    let runs = 0;
    const err = await rejection(ledger.run(base, async () => ++runs));
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect(err).toMatchObject({ code: 'dependency_failed', retryable: true });
    expect(runs).toBe(0);
  });

  it('a store failing after the run does not turn a success into an error', async () => {
    const store = createMemoryStore();
    const flaky: StateStore = { ...store, compareAndSet: () => Promise.reject(new Error('down')) };
    const ledger = createLedger({ store: flaky });
    expect(await ledger.run(base, async () => 'ok')).toEqual({ value: 'ok', source: 'executed' });
  });

  it('an unreadable record is treated as unknown, never as free', async () => {
    const { store, ledger } = setup();
    await store.setIfAbsent('ledger:k1', 'garbage', 60_000);
    expect(await rejection(ledger.run(base, async () => 1))).toBeInstanceOf(PreviousOutcomeUnknownError);
  });

  it('an abandoned claim is reconciled when repeating is unsafe: found is recorded, only "not found" runs', async () => {
    const answers: Array<[unknown, string, number]> = [
      [{ found: true, value: 'it happened' }, 'reconciled', 0],
      [{ found: false }, 'executed', 1],
    ];
    for (const [answer, source, runs] of answers) {
      const { clock, store, ledger } = setup();
      const claim = JSON.stringify({ state: 'pending', fp: 'fp-a', owner: 'dead', until: clock.now() + 50 });
      await store.setIfAbsent('ledger:k1', claim, 60_000);
      await clock.advance(60);
      let ran = 0;
      const r = await ledger.run({ ...base, reconcile: async () => answer as never }, async () => {
        ran++;
        return 'ran';
      });
      expect(r.source).toBe(source);
      expect(ran).toBe(runs);
      // Either way it is settled now: the next delivery replays.
      expect((await ledger.run(base, async () => 'again')).source).toBe('replayed');
    }
  });

  it('an abandoned claim whose reconcile throws or answers nonsense stays unknown, and nothing runs', async () => {
    for (const reconcile of [
      async () => {
        throw new Error('lookup down');
      },
      async () => ({}) as never,
      async () => undefined as never,
      async () => ({ found: true }) as never,
    ]) {
      const { clock, store, ledger } = setup();
      const claim = JSON.stringify({ state: 'pending', fp: 'fp-a', owner: 'dead', until: clock.now() + 50 });
      await store.setIfAbsent('ledger:k1', claim, 60_000);
      await clock.advance(60);
      let ran = 0;
      const err = await rejection(ledger.run({ ...base, reconcile }, async () => ++ran));
      expect(err).toBeInstanceOf(PreviousOutcomeUnknownError);
      expect((err as Error).message).toMatch(/reconcile/);
      expect(ran).toBe(0);
    }
  });

  it('renews its lease while the operation runs, so a twin elsewhere waits instead of taking over', async () => {
    const { clock, store, ledger } = setup();
    const other = createLedger({ store, clock, ttlMs: 60_000, pollMs: 10 });
    let runs = 0;
    const slow = async () => {
      runs++;
      await new Promise<void>((r) => clock.setTimeout(r, 1_000));
      return 'slow';
    };
    const first = ledger.run({ ...base, leaseMs: 300, takeOver: true }, slow);
    await clock.advance(900);
    const twin = other.run({ ...base, leaseMs: 300, takeOver: true }, slow);
    expect(await clock.run(Promise.all([first, twin]))).toEqual([
      { value: 'slow', source: 'executed' },
      { value: 'slow', source: 'replayed' },
    ]);
    expect(runs).toBe(1);
  });

  it('a claim whose answer was lost (written, then the store call failed) is taken back: the key stays free', async () => {
    const { store } = setup();
    let lose = true;
    const lossy: StateStore = {
      ...store,
      setIfAbsent: async (...a) => {
        const r = await store.setIfAbsent(...a);
        if (lose) throw new Error('reply lost');
        return r;
      },
    };
    const ledger = createLedger({ store: lossy, ttlMs: 60_000 });
    let runs = 0;
    expect(await rejection(ledger.run(base, async () => ++runs))).toBeInstanceOf(LedgerUnavailableError);
    await new Promise<void>((r) => setImmediate(r));
    expect(await store.get('ledger:k1')).toBeUndefined();
    lose = false;
    expect(await ledger.run(base, async () => ++runs)).toEqual({ value: 1, source: 'executed' });
  });
});
