/**
 * Outside attacks on `breakwater/testing`, through its public names only.
 */
import http from 'node:http';
import { createRegistry } from 'breakwater';
import {
  type ChaosFaults,
  createFakeAnthropic,
  createFakeImageApi,
  createFakeOpenAI,
  createFakePaymentApi,
  createFakeSearchApi,
  type Fault,
  invariants,
  type PaymentApi,
  runChaos,
} from 'breakwater/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** The handles a fake can leave behind: listening servers, sockets, timers. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo())
    if (r === 'TCPServerWrap' || r === 'TCPSocketWrap' || r === 'Timeout') out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** A request on its own socket (no pool): settles once that socket is closed, whatever happened. */
function request(url: string, path: string, body?: unknown): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = http.request(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      res.on('data', () => undefined);
      res.on('error', () => undefined);
    });
    req.on('close', () => {
      // The client's socket is closed by now: its handle is gone when 'close' is emitted.
      const s = req.socket;
      if (s === null || s.destroyed) resolve();
      else s.once('close', () => resolve());
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Waits, by event-loop turns and never by time, until `cond` holds. */
async function turnsUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const order = { order: 'A-17', amount: 4_200, currency: 'eur' };
const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 16 };

describe('close() leaves no open handle: the process can exit', () => {
  it('a payment API with an answer on a timer, a stalled answer and a held request', async () => {
    const before = handles();
    const pay = await createFakePaymentApi({ slowAnswerMs: 3_600_000 });
    pay.inject(['slow_answer', 'slow_after_processing', 'slow_before_processing']);
    const pending = [1, 2, 3].map(() => request(pay.url, '/v1/charges', order));
    await turnsUntil(() => pay.counters.processed === 2 && pay.counters.requests === 3);
    await pay.close();
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });

  it('the image and search APIs with answers on timers', async () => {
    const before = handles();
    const image = await createFakeImageApi({ slowAnswerMs: 3_600_000 });
    const search = await createFakeSearchApi({ slowAnswerMs: 3_600_000 });
    image.inject(['slow_answer', 'slow_after_processing']);
    search.inject(['slow_after_processing', 'slow_before_processing']);
    const pending = [
      request(image.url, '/v1/images', { prompt: 'a boat' }),
      request(image.url, '/v1/images', { prompt: 'a boat' }),
      request(search.url, '/search?q=boats'),
      request(search.url, '/search?q=boats'),
    ];
    await turnsUntil(() => image.counters.requests === 2 && search.counters.requests === 2);
    await turnsUntil(() => image.counters.processed === 2 && search.counters.processed === 2);
    await Promise.all([image.close(), search.close()]);
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });

  it('the model fakes with a stalled stream, a cut one and a slow answer', async () => {
    const before = handles();
    const openai = await createFakeOpenAI({ turns: [{ text: 'hello there' }] });
    const anthropic = await createFakeAnthropic({ turns: [{ text: 'hello there' }] });
    openai.inject(['stream_stall', 'slow_answer', 'slow_after_processing']);
    anthropic.inject(['stream_stall', 'stream_cut', 'slow_answer']);
    const pending = [
      ...[1, 2, 3].map(() => request(openai.url, '/v1/chat/completions', chat)),
      ...[1, 2, 3].map(() => request(anthropic.url, '/v1/messages', chat)),
    ];
    await openai.until((r) => r.length === 3);
    await anthropic.until((r) => r.length === 3);
    await Promise.all([openai.close(), anthropic.close()]);
    await Promise.all(pending);
    expect(handles()).toEqual(before);
  });
});

describe('the chaos runner tells the truth about a naive payment tool', () => {
  // A naive tool: POST the charge, and on any failure POST it again, up to three times, with no key.
  const pool: Fault[] = [
    'error_500',
    'reset_before_read',
    'reset_after_processing',
    'error_500_after_processing',
  ];
  const doneBeforeFailure = new Set<Fault>(['reset_after_processing', 'error_500_after_processing']);
  let pay: PaymentApi;
  beforeAll(async () => {
    pay = await createFakePaymentApi();
  });
  afterAll(async () => {
    await pay.close();
  });

  async function naive(faults: ChaosFaults): Promise<{ charges: number }> {
    pay.clearSchedule();
    faults.inject('payment', pay);
    const before = pay.charges.length;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await fetch(`${pay.url}/v1/charges`, { method: 'POST', body: JSON.stringify(order) });
        await res.text();
        if (res.ok) break;
      } catch {
        // a reset: try again, naively
      }
    }
    return { charges: pay.charges.length - before };
  }

  /** The model of the naive tool: how many charges a queue of faults makes. */
  function modelCharges(queue: readonly Fault[]): number {
    let charges = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const f = queue[attempt] ?? 'none';
      if (f === 'none') return charges + 1;
      if (doneBeforeFailure.has(f)) charges++;
    }
    return charges;
  }

  const shape = { targets: ['payment', 'ledger'], faults: pool, maxFaults: 4 };
  const once = { charged: invariants.atMostOnce((r: { charges: number }) => r.charges, 'charges') };
  const quiet = () => undefined;

  it("replay is exact and its verdict is the model's, for any drawn seed and schedule", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(fc.constantFrom<Fault>('none', ...pool), { maxLength: 4 }),
        async (seed, queue) => {
          const replay = { seed, schedule: { payment: queue } };
          const a = await runChaos({ ...shape, scenario: naive, invariants: once, replay, print: quiet });
          const b = await runChaos({ ...shape, scenario: naive, invariants: once, replay, print: quiet });
          expect(a.ok).toBe(modelCharges(queue) <= 1);
          expect(b.ok).toBe(a.ok);
          expect(b.failure?.message).toBe(a.failure?.message);
          expect(a.failure?.shrinkRuns ?? 0).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('finds the double charge from any first seed and shrinks it to the one simplest fault that causes it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const report = await runChaos({
          ...shape,
          runs: 30,
          seed,
          scenario: naive,
          invariants: once,
          print: quiet,
        });
        expect(report.ok).toBe(false);
        const failure = report.failure!;
        expect(failure.invariant).toBe('charged');
        // The first drawn schedule did break (the model agrees), and the unused target is gone.
        expect(modelCharges(failure.original.payment ?? [])).toBeGreaterThan(1);
        expect(failure.schedule).toEqual({ payment: ['reset_after_processing'] });
        // Minimal: without it, the naive tool charges once.
        const clean = await runChaos({
          ...shape,
          scenario: naive,
          invariants: once,
          replay: { seed: failure.seed, schedule: {} },
          print: quiet,
        });
        expect(clean.ok).toBe(true);
      }),
      { numRuns: 6 },
    );
  });
});

describe('never twice through the registry: a result predicate on a payment never charges again', () => {
  let pay: PaymentApi;
  beforeAll(async () => {
    pay = await createFakePaymentApi();
  });
  afterAll(async () => {
    await pay.close();
  });

  it('whatever the key, the fault, the verdict, the fallback and the re-issues: one charge, and no stand-in hides it', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'no key' | 'ctx.fetch' | 'honored key'>('no key', 'ctx.fetch', 'honored key'),
        fc.constantFrom<Fault>('none', 'error_500', 'reset_after_processing', 'error_500_after_processing'),
        fc.constantFrom('server_error', 'unknown', 'network', 'timeout', 'overloaded', 'client_error'),
        fc.constantFrom<'none' | 'value' | 'value, every kind' | 'run'>(
          'none',
          'value',
          'value, every kind',
          'run',
        ),
        fc.integer({ min: 0, max: 2 }),
        async (keyMode, fault, kind, fallbackShape, reissues) => {
          const orderId = `A-${++n}`;
          pay.clearSchedule();
          pay.inject([fault]);
          const registry = createRegistry();
          const every = [
            'server_error',
            'unknown',
            'network',
            'timeout',
            'overloaded',
            'client_error',
          ] as const;
          const fallback =
            fallbackShape === 'none'
              ? {}
              : fallbackShape === 'run'
                ? { fallback: { run: () => ({ id: 'stand-in', status: 'succeeded' }) } }
                : {
                    fallback: {
                      value: { id: 'stand-in', status: 'succeeded' },
                      ...(fallbackShape === 'value, every kind' ? { kinds: [...every] } : {}),
                    },
                  };
          registry.register({
            name: 'charge_card',
            input: z.object({ order: z.string(), amount: z.number(), currency: z.string() }),
            ...(keyMode === 'honored key' ? { idempotency: { honored: true, key: 'content' as const } } : {}),
            // Backoff of 1 ms: real time, but short (the breaker and retries are the built-in ones otherwise).
            profile: {
              retry: {
                backoff: { kind: 'exponential', initialMs: 1, maxMs: 1, multiplier: 1, jitter: 'none' },
              },
            },
            // A predicate with a bug: it rejects every answer, the successful charge included.
            failOnResult: () => ({ kind, message: 'not captured' }),
            ...fallback,
            execute: async (input, ctx) => {
              const body = JSON.stringify(input);
              const res =
                keyMode === 'no key'
                  ? await fetch(`${pay.url}/v1/charges`, { method: 'POST', body, signal: ctx.signal })
                  : await ctx.fetch(`${pay.url}/v1/charges`, { method: 'POST', body });
              if (!res.ok) throw new Error(`HTTP ${res.status}`);
              return (await res.json()) as { id: string; status: string };
            },
          });
          const args = { order: orderId, amount: 4_200, currency: 'eur' };
          for (let i = 0; i <= reissues; i++) {
            const outcome = await registry
              .call('charge_card', args, { callId: 'call-1', scope: `conv-${n}` })
              .then(
                (value) => ({ value }),
                (error: unknown) => ({ error }),
              );
            // The first call's charge may have happened: a stand-in that says "succeeded" must never answer for it.
            if (fault !== 'error_500' || pay.chargesFor(orderId) > 0)
              expect(outcome).not.toHaveProperty('value');
          }
          expect(pay.chargesFor(orderId)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
