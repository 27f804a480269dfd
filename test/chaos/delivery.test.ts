/**
 * Chaos for delivery proven per attempt (see `delivery.ts`): several requests
 * per attempt, HTTP/2, requests fetch cannot make, hostile input sizes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { params, runsFor, timeoutFor } from './config.js';
import {
  type DeliveryServers,
  deliverySpecArb,
  forgetHostile,
  runDeliverySchedule,
  startDeliveryServers,
} from './delivery.js';
import { startServers } from './http.js';

let servers: DeliveryServers;
beforeAll(async () => {
  servers = await startDeliveryServers(await startServers());
});
afterAll(async () => {
  forgetHostile();
  await servers.close();
  await servers.base.close();
});

describe('chaos: delivery is proven per attempt, over real HTTP/1.1 and HTTP/2', () => {
  // A fifth of the long run: each schedule builds HTTP/2 streams and walks hostile input.
  const numRuns = runsFor(20, 0.2);
  it(
    `a non-idempotent effect at most once over ${numRuns} random schedules`,
    async () => {
      await fc.assert(
        fc.asyncProperty(deliverySpecArb, async (spec) => {
          const { violations, unhandled } = await runDeliverySchedule(servers, spec);
          expect(violations).toEqual([]);
          expect(unhandled.map(String)).toEqual([]);
        }),
        params(numRuns),
      );
    },
    timeoutFor(numRuns, 300),
  );
});
