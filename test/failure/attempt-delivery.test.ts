/**
 * `proveDelivery` for code that runs its own functions under `createPolicy`:
 * the attempt's requests are counted, so a refusal after a billed request
 * is not taken for the whole attempt.
 */

import { createStepClock, createTracker, drive } from 'breakwater/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proveDelivery } from '../../src/failure/attempt-delivery.js';
import { createClassifyingFetch } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { caught } from '../fakes/caught.js';
import { closedPort, type HttpServer, httpServer } from '../fakes/tcp.js';

const tracker = createTracker();
let billing: HttpServer;
let charges = 0;
let refused: number;

beforeAll(async () => {
  billing = await httpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      charges++;
      res.end('{"id":"ch_1"}');
    });
  });
  refused = await closedPort();
});
afterAll(() => billing.close());

describe('proveDelivery under createPolicy', () => {
  const fetch = createClassifyingFetch();
  const chargeThenNotify = async () =>
    tracker.run(async () => {
      await (await fetch(`${billing.url}charges`, { method: 'POST', body: '{}' })).json();
      return fetch(`http://127.0.0.1:${refused}/notify`, { method: 'POST', body: '{}' });
    });
  const profile = {
    extends: 'non-idempotent' as const,
    retry: { maxAttempts: 3, backoff: { initialMs: 10, maxMs: 10 }, budget: false as const },
    breaker: false as const,
  };

  it('a charge, then a refused notification: outcome unknown, charged once', async () => {
    const clock = createStepClock();
    const policy = createPolicy(profile, { clock });
    const before = charges;
    const err = await caught(
      drive(clock, tracker, policy.run(proveDelivery(chargeThenNotify, { strict: true }))),
    );
    expect(isBreakwaterError(err) && err.code).toBe('outcome_unknown');
    expect(charges - before).toBe(1);
  });
});
