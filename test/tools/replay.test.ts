import {
  createFakePaymentApi,
  createStepClock,
  createTracker,
  drive,
  type PaymentApi,
} from 'breakwater/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { IdempotencyKeyReusedError, OperationInFlightError } from '../../src/idempotency/errors.js';
import type { Clock } from '../../src/policy/clock.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createMemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';
import { createRegistry } from '../../src/tools/registry.js';

/** A booking tool whose execution waits for the test's word, counting executions. */
function bookingRegistry(options: { clock?: Clock; store?: StateStore } = {}) {
  const registry = createRegistry({ ...options, random: () => 0 });
  let runs = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  registry.register({
    name: 'book_hotel',
    input: z.object({ hotel: z.string(), nights: z.number().int() }),
    execute: async (input) => {
      runs++;
      await released;
      return { booking: `BK-${runs}`, ...input };
    },
  });
  return { registry, runs: () => runs, release };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('replay', () => {
  it('the same tool call in a later turn gets the same answer, without running again', async () => {
    const { registry, runs, release } = bookingRegistry();
    release();
    const call = {
      type: 'tool_use' as const,
      id: 'toolu_7',
      name: 'book_hotel',
      input: { hotel: 'Ritz', nights: 2 },
    };
    const first = await registry.handleToolCalls([call]);
    const again = await registry.handleToolCalls([call]);
    expect(again).toEqual(first);
    expect(first[0]!.content).toBe('{"booking":"BK-1","hotel":"Ritz","nights":2}');
    expect(runs()).toBe(1);
  });

  it('a tool call id reused with other arguments is refused, not answered with the first result', async () => {
    const { registry, release } = bookingRegistry();
    release();
    await registry.call('book_hotel', { hotel: 'Ritz', nights: 2 }, { callId: 'call_1' });
    const err = await rejection(
      registry.call('book_hotel', { hotel: 'Ritz', nights: 3 }, { callId: 'call_1' }),
    );
    expect(err).toBeInstanceOf(IdempotencyKeyReusedError);
    const [r] = await registry.handleToolCalls([
      {
        id: 'call_1',
        type: 'function',
        function: { name: 'book_hotel', arguments: '{"hotel":"Ritz","nights":3}' },
      },
    ]);
    expect(JSON.parse(r!.content)).toMatchObject({
      error: { type: 'invalid_input', retryable: false, outcome: 'failed' },
    });
    expect(JSON.parse(r!.content).error.message).toMatch(/idempotency key already used with different input/);
  });
});

describe('join', () => {
  it('a twin arriving while the first is in flight joins it: one execution, one answer', async () => {
    const { registry, runs, release } = bookingRegistry();
    const args = { hotel: 'Ritz', nights: 2 };
    const first = registry.call('book_hotel', args, { callId: 'call_1' });
    await settle();
    const twin = registry.call('book_hotel', '{"nights":2,"hotel":"Ritz"}', { callId: 'call_1' });
    await settle();
    expect(runs()).toBe(1);
    release();
    expect(await twin).toEqual(await first);
    expect(runs()).toBe(1);
  });

  it('a twin in another process (a shared store) waits for the first and replays its result', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock });
    const a = bookingRegistry({ clock, store });
    const b = bookingRegistry({ clock, store });
    const args = { hotel: 'Ritz', nights: 2 };
    const first = a.registry.call('book_hotel', args, { callId: 'call_1' });
    await settle();
    const twin = b.registry.call('book_hotel', args, { callId: 'call_1' });
    await clock.advance(500);
    expect(b.runs()).toBe(0);
    a.release();
    const value = await first;
    await clock.advance(100);
    expect(await twin).toEqual(value);
    expect(a.runs() + b.runs()).toBe(1);
  });

  it('a twin whose deadline comes first is told the outcome is unknown, and can ask again later', async () => {
    const clock = createVirtualClock(0);
    const { registry, runs, release } = bookingRegistry({ clock });
    const args = { hotel: 'Ritz', nights: 2 };
    const first = registry.call('book_hotel', args, { callId: 'call_1' });
    await settle();
    const twin = rejection(registry.call('book_hotel', args, { callId: 'call_1', deadlineMs: 1_000 }));
    await clock.advance(1_000);
    const err = await twin;
    expect(err).toBeInstanceOf(OperationInFlightError);
    expect(err).toMatchObject({ code: 'outcome_unknown', outcome: 'unknown' });
    release();
    const value = await first;
    expect(await registry.call('book_hotel', args, { callId: 'call_1' })).toEqual(value);
    expect(runs()).toBe(1);
  });

  it('when the first caller cancels before the tool runs, its twin runs it instead', async () => {
    const { registry, runs, release } = bookingRegistry();
    release();
    const ctrl = new AbortController();
    ctrl.abort();
    const args = { hotel: 'Ritz', nights: 2 };
    const first = rejection(registry.call('book_hotel', args, { callId: 'call_1', signal: ctrl.signal }));
    const twin = registry.call('book_hotel', args, { callId: 'call_1' });
    expect(await first).toMatchObject({ code: 'cancelled' });
    expect(await twin).toMatchObject({ booking: 'BK-1' });
    expect(runs()).toBe(1);
  });
});

describe('the dependency as a second line of defence, when two processes do not share a ledger', () => {
  const tracker = createTracker();
  let api: PaymentApi;
  beforeAll(async () => {
    api = await createFakePaymentApi({ tracker });
  });
  afterAll(() => api.close());

  function payments(clock: ReturnType<typeof createStepClock>) {
    // Each registry has its own in-process store: a second process that does not see the first's ledger.
    const registry = createRegistry({ clock, random: () => 0.5 });
    registry.register({
      name: 'charge_card',
      input: z.object({ order: z.string(), amount: z.number() }),
      idempotency: { honored: true },
      profile: {
        extends: 'payment',
        timeout: { attemptMs: 1_000 },
        retry: { maxAttempts: 8, budget: false },
        breaker: false,
      },
      execute: (input, ctx) =>
        tracker.run(async (headers) => {
          const res = await ctx.fetch(`${api.url}/v1/charges`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ ...input, currency: 'eur' }),
          });
          return res.json() as Promise<unknown>;
        }),
    });
    return registry;
  }

  it('the same key with another body gets the API 422: a definite failure, nothing charged twice', async () => {
    const clock = createStepClock();
    await drive(
      clock,
      tracker,
      payments(clock).call('charge_card', { order: 'o-422', amount: 5 }, { idempotencyKey: 'order-422' }),
    );
    const err = await drive(
      clock,
      tracker,
      payments(clock).call('charge_card', { order: 'o-422', amount: 6 }, { idempotencyKey: 'order-422' }),
    ).catch((e: unknown) => e);
    expect(isBreakwaterError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'dependency_failed', outcome: 'failed', failure: { status: 422 } });
    expect(api.chargesFor('o-422')).toBe(1);
  });

  it('the same key while the first is in flight upstream gets a 409, retries, and replays', async () => {
    const clock = createStepClock();
    const conflicts = api.keyAnswers.conflict;
    api.schedule('slow_before_processing');
    const args = { order: 'o-409', amount: 5 };
    const requests = api.requests;
    const first = payments(clock).call('charge_card', args, { idempotencyKey: 'order-409' });
    // Until the API holds the first request, in flight on its side.
    while (api.requests === requests || tracker.busy()) await settle();
    const second = payments(clock).call('charge_card', args, { idempotencyKey: 'order-409' });
    const [a, b] = await drive(clock, tracker, Promise.all([first, second]));
    expect(b).toEqual(a);
    expect(api.keyAnswers.conflict).toBeGreaterThan(conflicts);
    expect(api.chargesFor('o-409')).toBe(1);
  });
});
