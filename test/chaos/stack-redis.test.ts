/**
 * The in-process chaos stack (see `stack.ts`) with every breaker, cooldown
 * and retry budget shared through the real Redis instead: the same random
 * schedules, the same invariants. Virtual time moves only while no Redis
 * reply is awaited, so Redis takes no virtual time and deadlines stay exact.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/state/redis.js';
import { connect, redisOrSkip, runWithRedis, testPrefix } from '../fakes/redis.js';
import { params, runsFor, timeoutFor } from './config.js';
import { runSchedule, worldArb } from './stack.js';

const available = await redisOrSkip();

describe.skipIf(!available)('chaos: the whole stack with health shared through the real Redis', () => {
  let client: Redis;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  const numRuns = runsFor(30, 0.1);
  let commands = 0;
  it(
    `keeps every promise over ${numRuns} random fault schedules`,
    async () => {
      await fc.assert(
        fc.asyncProperty(worldArb, fc.constantFrom(0, 100), async (spec, syncMs) => {
          // A generous command timeout: this machine's load must not pass for a Redis outage (that is another test).
          const source = createRedisStore(client, {
            prefix: testPrefix('chaos'),
            syncMs,
            commandTimeoutMs: 10_000,
          });
          const { violations, unhandled } = await runSchedule(spec, undefined, {
            source,
            run: (clock, p, maxMs) => runWithRedis(clock, client, p, maxMs),
          });
          commands += source.commands;
          expect(violations).toEqual([]);
          expect(unhandled.map(String)).toEqual([]);
        }),
        params(numRuns),
      );
      // The schedules really went through Redis.
      expect(commands).toBeGreaterThan(numRuns);
    },
    timeoutFor(numRuns, 1_000, 60_000),
  );
});
