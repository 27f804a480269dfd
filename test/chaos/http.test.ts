/**
 * Chaos through real local sockets, the SDKs and the wire-format fakes (see
 * `http.ts`): every random schedule must keep every promise.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { params, runsFor, timeoutFor } from './config.js';
import { httpSpecArb, runHttpSchedule, type Servers, startServers } from './http.js';

let servers: Servers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

describe('chaos: tools and models over real sockets, on a step clock', () => {
  const numRuns = runsFor(20);
  it(
    `keeps every promise over ${numRuns} random fault schedules`,
    async () => {
      await fc.assert(
        fc.asyncProperty(httpSpecArb, async (spec) => {
          const { violations, unhandled } = await runHttpSchedule(servers, spec);
          expect(violations).toEqual([]);
          expect(unhandled.map(String)).toEqual([]);
        }),
        params(numRuns),
      );
    },
    timeoutFor(numRuns, 200),
  );
});
