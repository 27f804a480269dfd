/**
 * The fake tool services over real HTTP (Node's fetch): the payment API's
 * idempotency keys, the image API's lookup by reference, the search API, and
 * the shared faults, counters and request log.
 */
import {
  createFakeImageApi,
  createFakePaymentApi,
  createFakeSearchApi,
  type FakeService,
  SERVICE_FAULTS,
} from 'breakwater/testing';
import { afterEach, describe, expect, it } from 'vitest';

const open: FakeService[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

async function post(url: string, body: unknown, key?: string): Promise<number | 'reset'> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
  } catch {
    return 'reset';
  }
}

const order = { order: 'A-17', amount: 4_200, currency: 'eur' };

describe('the payment API', () => {
  it('replays a key, refuses it with another body, and charges without a key every time', async () => {
    const pay = await createFakePaymentApi();
    open.push(pay);
    const url = `${pay.url}/v1/charges`;
    expect(await post(url, order, 'k1')).toBe(200);
    expect(await post(url, order, 'k1')).toBe(200);
    expect(await post(url, { ...order, amount: 1 }, 'k1')).toBe(422);
    expect(await post(url, order)).toBe(200);
    expect(pay.charges).toHaveLength(2);
    expect(pay.keyAnswers).toEqual({ replayed: 1, conflict: 0, mismatch: 1 });
    expect(pay.counters).toMatchObject({
      requests: 4,
      processed: 2,
      faults: 0,
      statuses: { 200: 3, 422: 1 },
    });
    expect(pay.log.map((r) => r.idempotencyKey)).toEqual(['k1', 'k1', 'k1', undefined]);
    const lookup = (await (await fetch(`${pay.url}/v1/charges?order=A-17`)).json()) as { data: unknown[] };
    expect(lookup.data).toHaveLength(2);
  });

  it('meets every service fault: charges only where the work is done before the failure', async () => {
    for (const fault of SERVICE_FAULTS) {
      if (fault.startsWith('slow_')) continue; // held until the client gives up: see the step-clock suites
      const pay = await createFakePaymentApi();
      open.push(pay);
      pay.inject([fault]);
      const status = await post(`${pay.url}/v1/charges`, order, 'k');
      const charged = fault === 'none' || fault.endsWith('_after_processing') ? 1 : 0;
      expect({ fault, charges: pay.charges.length, processed: pay.counters.processed }).toEqual({
        fault,
        charges: charged,
        processed: charged,
      });
      expect({ fault, faults: pay.counters.faults }).toEqual({ fault, faults: fault === 'none' ? 0 : 1 });
      if (fault.startsWith('reset')) expect({ fault, status }).toEqual({ fault, status: 'reset' });
      else if (fault.startsWith('rate_limited')) expect({ fault, status }).toEqual({ fault, status: 429 });
    }
  });

  it('a queue per route: the lookup route fails on its own', async () => {
    const pay = await createFakePaymentApi();
    open.push(pay);
    pay.inject(['error_503'], 'GET /v1/charges');
    expect((await fetch(`${pay.url}/v1/charges?order=A-17`)).status).toBe(503);
    expect((await fetch(`${pay.url}/v1/charges?order=A-17`)).status).toBe(200);
    expect(await post(`${pay.url}/v1/charges`, order)).toBe(200);
  });
});

describe('the image API', () => {
  it('bills every processed request and finds images by client reference', async () => {
    const images = await createFakeImageApi();
    open.push(images);
    images.schedule('reset_after_processing');
    expect(await post(`${images.url}/v1/images`, { op: 'itinerary', ref: 'ref-1' })).toBe('reset');
    expect(await post(`${images.url}/v1/images`, { op: 'itinerary', ref: 'ref-1' })).toBe(200);
    expect(images.imagesFor('itinerary')).toBe(2);
    const found = (await (await fetch(`${images.url}/v1/images?ref=ref-1`)).json()) as { data: unknown[] };
    expect(found.data).toHaveLength(2);
    expect(images.counters).toMatchObject({ requests: 2, processed: 2, resets: 1 });
  });
});

describe('the search API', () => {
  it('answers queries and fails from a seeded probability schedule, the same way for the same seed', async () => {
    const statuses: number[][] = [];
    for (const seed of [3, 3]) {
      const search = await createFakeSearchApi();
      open.push(search);
      search.inject({ probability: 0.5, seed, faults: ['error_500', 'error_503'] });
      const got: number[] = [];
      for (let i = 0; i < 10; i++) got.push((await fetch(`${search.url}/search?q=paris`)).status);
      statuses.push(got);
      expect(search.counters.requests).toBe(10);
    }
    expect(statuses[0]).toEqual(statuses[1]);
    expect(new Set(statuses[0])).toEqual(new Set([200, 500, 503]));
  });
});
