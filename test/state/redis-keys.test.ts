/**
 * How the Redis store lays out its keys and sends its scripts (issue 15): one
 * key scheme under the default prefix (`bw:ledger:…`, `bw:health:{…}`, never
 * `bw:bw:`), and Lua scripts by SHA (`EVALSHA`) rather than whole on every
 * call. A dedicated redis-server, so that its keys and its command counts are
 * this test's alone.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createRegistry } from '../../src/tools/registry.js';
import { connect, type OwnRedis, ownRedis, redisOrSkip } from '../fakes/redis.js';

const available = await redisOrSkip();

describe.skipIf(!available)('the Redis store on a dedicated redis-server', () => {
  let server: OwnRedis;
  let client: Redis;
  beforeAll(async () => {
    server = await ownRedis();
    await server.start();
    client = connect(server.port);
  });
  afterAll(async () => {
    client.disconnect();
    await server.kill();
  });

  /** What the default-prefixed store did: one ledgered tool call and failures seen by one breaker. */
  async function useWithDefaultPrefix(calls: number): Promise<void> {
    const store = createRedisStore(client, { checkPersistence: false });
    const registry = createRegistry({ store });
    registry.register({
      name: 'charge_card',
      input: z.object({ amount: z.number() }),
      idempotency: { honored: true },
      execute: async ({ amount }) => ({ charged: amount }),
    });
    const policy = createPolicy(
      {
        retry: { maxAttempts: 1 },
        breaker: { mode: 'consecutive', consecutiveFailures: 100, openMs: 60_000 },
      },
      {
        dependency: 'openai/gpt-4o',
        shared: createRedisStore(client, { checkPersistence: false, syncMs: 0 }),
      },
    );
    for (let i = 0; i < calls; i++) {
      await registry.call('charge_card', { amount: i }, { callId: `call_${i}` });
      await policy
        .run(async () => {
          throw Object.assign(new Error('HTTP 500'), { status: 500, headers: {} });
        })
        .catch(() => {});
    }
  }

  async function commandCalls(): Promise<Record<string, number>> {
    const info = await client.info('commandstats');
    const calls: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
    return calls;
  }

  it('keeps ledger and health keys under one scheme with the default prefix: bw:ledger:…, bw:health:{dependency}', async () => {
    await client.flushall();
    await useWithDefaultPrefix(2);
    const keys = (await client.keys('*')).sort();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.startsWith('bw:bw:'))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('bw:ledger:')).length).toBeGreaterThanOrEqual(2);
    expect(keys).toContain('bw:health:{openai/gpt-4o}');
    expect(keys.filter((k) => !k.startsWith('bw:ledger:') && !k.startsWith('bw:health:{'))).toEqual([]);
  });

  it('sends each Lua script whole at most once, then by its SHA (INFO commandstats: EVALSHA, not EVAL, per call)', async () => {
    // A fresh script cache: the first use of each script must load it.
    await client.script('FLUSH');
    await client.config('RESETSTAT');
    const calls = 20;
    await useWithDefaultPrefix(calls);
    const stats = await commandCalls();
    // Each call ran at least two ledger scripts and one health script.
    expect(stats.evalsha ?? 0).toBeGreaterThanOrEqual(3 * calls);
    // EVAL only when Redis did not know a script yet (NOSCRIPT): once per distinct script, never per call.
    expect(stats.eval ?? 0).toBeLessThanOrEqual(4);
  });
});
