/**
 * Two calls that fail with one error object: a connection pool, a memoized
 * token fetch or any shared promise rejects every caller with the same error.
 * Each attempt's delivery record must answer for that attempt alone: the call
 * that made nothing must not lend its "nothing reached" to the call that
 * charged a card a moment before. When the policy cannot tell the two apart,
 * both are told the outcome is unknown.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, isBreakwaterError, NotSentError, type ProfileInput } from '../../src/index.js';
import { type HttpServer, httpServer } from '../fakes/tcp.js';

let payments: HttpServer;
let charged = 0;

beforeAll(async () => {
  payments = await httpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      charged++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"ch_1"}');
    });
  });
});
afterAll(() => payments.close());

const roomy: ProfileInput = {
  timeout: { attemptMs: 30_000, totalMs: 60_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 1 }, budget: false },
  breaker: false,
};

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

it('a call that charged, then failed with the error another call also got, is outcome unknown and runs once', async () => {
  // The pool both calls wait on; it fails once, with one NotSentError for everyone.
  const pool = deferred();
  pool.promise.catch(() => {});
  const chargerWaits = deferred();
  const otherWaits = deferred();
  const runs = { charge: 0, other: 0 };
  const registry = createRegistry();
  registry.register({
    name: 'charge_then_log',
    input: z.object({ who: z.enum(['charge', 'other']) }),
    profile: roomy,
    execute: async (input, ctx) => {
      runs[input.who]++;
      if (input.who === 'charge')
        await (await ctx.fetch(payments.url, { method: 'POST', body: '{}' })).text();
      if (input.who === 'charge' && runs.charge === 1) {
        const waiting = pool.promise;
        chargerWaits.resolve();
        await waiting;
      } else if (input.who === 'other' && runs.other === 1) {
        await chargerWaits.promise;
        const waiting = pool.promise;
        otherWaits.resolve();
        await waiting;
      }
      return 'ok';
    },
  });
  const charge = registry.call('charge_then_log', { who: 'charge' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const other = registry.call('charge_then_log', { who: 'other' }).then(
    (v) => v,
    (err: unknown) => err,
  );
  await otherWaits.promise;
  pool.reject(new NotSentError('pool: connection refused'));

  // The other call sent nothing, but the one error is all the policy is handed for both attempts: it is told
  // outcome unknown too (the safe side), rather than the charger being told "not sent".
  const second = await other;
  expect(isBreakwaterError(second) && second.failure.delivery).toBe('unknown');
  expect(runs.other).toBe(1);
  const err = await charge;
  expect(runs.charge).toBe(1);
  expect(charged).toBe(1);
  expect(isBreakwaterError(err) && err.failure.delivery).toBe('unknown');
});
