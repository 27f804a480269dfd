/**
 * Promise 1, "never twice", against real local HTTP services: whatever fails
 * and whenever, one logical call bills at most one charge or image; with a
 * key the dependency honors, retries get it done exactly once.
 */

import {
  createFakeImageApi,
  createFakePaymentApi,
  createFakeSearchApi,
  createStepClock,
  createTracker,
  drive,
  type FakeService,
  type ImageApi,
  type PaymentApi,
  type StepClock,
} from 'breakwater/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import type { ProfileInput } from '../../src/policy/profile.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';
import { FAULTS, type Fault } from '../fakes/services.js';

const tracker = createTracker();
let payments: PaymentApi;
let images: ImageApi;
let search: FakeService;

beforeAll(async () => {
  [payments, images, search] = await Promise.all([
    createFakePaymentApi({ tracker }),
    createFakeImageApi({ tracker }),
    createFakeSearchApi({ tracker }),
  ]);
});
afterAll(async () => {
  await Promise.all([payments.close(), images.close(), search.close()]);
});

/** Room for every scheduled fault plus a 409 behind each slow one; no breaker or budget to end it early. */
const generous: ProfileInput = {
  timeout: { attemptMs: 1_000, totalMs: 120_000 },
  retry: { maxAttempts: 12, backoff: { initialMs: 100, maxMs: 1_000 }, budget: false },
  breaker: false,
};

interface Charge {
  id: string;
  order: string;
  status: string;
}
interface Image {
  id: string;
  op: string;
  status: string;
}

function tools(clock: StepClock): Registry {
  const registry = createRegistry({ clock, random: () => 0.5 });
  const post = async (url: string, body: unknown, ctx: { fetch: typeof fetch }) =>
    tracker.run(async (headers) => {
      const res = await ctx.fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return res.json() as Promise<unknown>;
    });

  registry.register({
    name: 'charge_card',
    description: 'Charges a card once per order.',
    input: z.object({ order: z.string(), amount: z.number().int().positive() }),
    idempotency: { honored: true },
    profile: { extends: 'payment', ...generous },
    execute: async (input, ctx) =>
      (await post(`${payments.url}/v1/charges`, { ...input, currency: 'eur' }, ctx)) as Charge,
  });

  const generate = async (
    input: { op: string; prompt: string },
    ctx: { fetch: typeof fetch; idempotencyKey: string },
  ) => (await post(`${images.url}/v1/images`, { ...input, ref: ctx.idempotencyKey }, ctx)) as Image;

  registry.register({
    name: 'generate_image',
    input: z.object({ op: z.string(), prompt: z.string() }),
    profile: generous,
    execute: generate,
  });

  registry.register({
    name: 'generate_image_reconciled',
    input: z.object({ op: z.string(), prompt: z.string() }),
    profile: generous,
    idempotency: {
      // The API does not de-duplicate, but it lists images by the reference we sent: look ours up.
      reconcile: async (key, _input, ctx) =>
        tracker.run(async (headers) => {
          const res = await ctx.fetch(`${images.url}/v1/images?ref=${encodeURIComponent(key)}`, { headers });
          const { data } = (await res.json()) as { data: Image[] };
          return data[0] ? { found: true, value: data[0] } : { found: false };
        }),
    },
    execute: generate,
  });

  registry.register({
    name: 'search',
    effect: 'idempotent',
    input: z.object({ q: z.string() }),
    profile: generous,
    execute: async ({ q }, ctx) =>
      tracker.run(async (headers) => {
        const res = await ctx.fetch(`${search.url}/search?q=${encodeURIComponent(q)}`, { headers });
        return res.json() as Promise<unknown>;
      }),
  });
  return registry;
}

let ops = 0;
const nextOp = () => `op-${++ops}`;

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

async function settle(clock: StepClock, p: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: true, value: await drive(clock, tracker, p) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** One logical call under a fault schedule, then the same call delivered again. */
async function scenario(
  tool: 'charge_card' | 'generate_image' | 'generate_image_reconciled',
  faults: readonly Fault[],
) {
  const clock = createStepClock();
  const registry = tools(clock);
  const op = nextOp();
  const server = tool === 'charge_card' ? payments : images;
  const count = () => (tool === 'charge_card' ? payments.chargesFor(op) : images.imagesFor(op));
  const args =
    tool === 'charge_card' ? { order: op, amount: 500 } : { op, prompt: 'a lighthouse in a storm' };
  const keysBefore = payments.keysSeen.length;
  server.clearSchedule();
  server.schedule(...faults);
  const first = await settle(clock, registry.call(tool, args, { callId: `call_${op}` }));
  server.clearSchedule();
  const afterFirst = count();
  const again = await settle(clock, registry.call(tool, args, { callId: `call_${op}` }));
  return { first, again, afterFirst, afterAgain: count(), keys: payments.keysSeen.slice(keysBefore) };
}

const codeOf = (s: Settled) => (s.ok ? 'ok' : isBreakwaterError(s.error) ? s.error.code : String(s.error));

describe('a payment API that honors Idempotency-Key: exactly once', () => {
  for (const fault of FAULTS) {
    it(`${fault}: retried under the same key, charged exactly once`, async () => {
      const r = await scenario('charge_card', [fault]);
      expect(codeOf(r.first)).toBe('ok');
      expect(r.afterFirst).toBe(1);
      expect(r.first.ok && (r.first.value as Charge).status).toBe('succeeded');
      // The same call delivered again replays from the ledger: no request at all.
      expect(r.again).toEqual(r.first);
      expect(r.afterAgain).toBe(1);
      expect(new Set(r.keys).size).toBe(1);
      expect(r.keys[0]).toMatch(/^bwc_/);
    });
  }

  it('every fault in a row still ends in exactly one charge', async () => {
    const r = await scenario(
      'charge_card',
      FAULTS.filter((f) => f !== 'none'),
    );
    expect(codeOf(r.first)).toBe('ok');
    expect(r.afterFirst).toBe(1);
    expect(r.keys.length).toBeGreaterThanOrEqual(FAULTS.length);
    expect(new Set(r.keys).size).toBe(1);
  });

  it('a retry racing a request still in flight upstream gets a 409 and waits its turn', async () => {
    const before = payments.keyAnswers.conflict + payments.keyAnswers.replayed;
    const r = await scenario('charge_card', ['slow_before_processing']);
    expect(codeOf(r.first)).toBe('ok');
    expect(r.afterFirst).toBe(1);
    expect(payments.keyAnswers.conflict + payments.keyAnswers.replayed).toBeGreaterThan(before);
  });
});

describe('an image API with no key support: at most once, and outcome unknown when in doubt', () => {
  const expected: Record<Fault, { code: string; images: number }> = {
    none: { code: 'ok', images: 1 },
    rate_limited: { code: 'ok', images: 1 },
    reset_before_read: { code: 'outcome_unknown', images: 0 },
    reset_after_processing: { code: 'outcome_unknown', images: 1 },
    error_500_after_processing: { code: 'outcome_unknown', images: 1 },
    slow_after_processing: { code: 'outcome_unknown', images: 1 },
    slow_before_processing: { code: 'outcome_unknown', images: 1 },
  };
  for (const fault of FAULTS) {
    it(`${fault}: ${expected[fault].code}, ${expected[fault].images} image(s), and never run again for the key`, async () => {
      const r = await scenario('generate_image', [fault]);
      expect(codeOf(r.first)).toBe(expected[fault].code);
      expect(r.afterFirst).toBe(expected[fault].images);
      if (r.first.ok) expect(r.again).toEqual(r.first);
      else {
        expect(codeOf(r.again)).toBe('outcome_unknown');
        expect((r.again as { error: Error }).error.message).toMatch(/earlier call with this idempotency key/);
      }
      expect(r.afterAgain).toBe(r.afterFirst);
    });
  }
});

describe('an image API with a reconcile hook: the doubt is resolved, exactly once', () => {
  for (const fault of FAULTS) {
    it(`${fault}: one image, found or made`, async () => {
      const r = await scenario('generate_image_reconciled', [fault]);
      expect(codeOf(r.first)).toBe('ok');
      expect(r.afterFirst).toBe(1);
      expect(r.again).toEqual(r.first);
      expect(r.afterAgain).toBe(1);
    });
  }
});

describe('a flaky, idempotent search API', () => {
  it('is retried through every kind of fault until it answers', async () => {
    const clock = createStepClock();
    const registry = tools(clock);
    const faults = FAULTS.filter((f) => f !== 'none');
    search.clearSchedule();
    search.schedule(...faults);
    const before = search.requests;
    const out = await drive(clock, tracker, registry.call('search', { q: 'lighthouses' }));
    expect(out).toMatchObject({ query: 'lighthouses' });
    expect(search.requests - before).toBe(faults.length + 1);
  });
});

describe('random fault schedules (property)', () => {
  const schedule = fc.array(fc.constantFrom(...FAULTS), { maxLength: 5 });
  // Seeded: the same schedules every run. One property per tool (each run is real HTTP, and was all
  // three tools at once): each fits the test timeout on a loaded machine, with the same 200 schedules.
  const runs = (seed: number) => ({ numRuns: 200, seed });

  it('a payment with an honored key: exactly one charge, under one key, whatever the faults', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (faults) => {
        const pay = await scenario('charge_card', faults);
        expect(codeOf(pay.first)).toBe('ok');
        expect(pay.afterFirst).toBe(1);
        expect(pay.afterAgain).toBe(1);
        expect(new Set(pay.keys).size).toBe(1);
      }),
      runs(1),
    );
  });

  it('an image with no key support: never more than one, and none after a definite failure', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (faults) => {
        const image = await scenario('generate_image', faults);
        expect(image.afterFirst).toBeLessThanOrEqual(1);
        expect(image.afterAgain).toBe(image.afterFirst);
        // A value means it happened once; a definite failure means it did not happen.
        if (image.first.ok) expect(image.afterFirst).toBe(1);
        else if (codeOf(image.first) !== 'outcome_unknown') expect(image.afterFirst).toBe(0);
      }),
      runs(2),
    );
  });

  it('an image with a reconcile hook: exactly one', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (faults) => {
        const reconciled = await scenario('generate_image_reconciled', faults);
        expect(codeOf(reconciled.first)).toBe('ok');
        expect(reconciled.afterFirst).toBe(1);
        expect(reconciled.afterAgain).toBe(1);
      }),
      runs(3),
    );
  });
});
