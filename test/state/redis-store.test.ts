import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LedgerUnavailableError } from '../../src/idempotency/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createRegistry } from '../../src/tools/registry.js';
import { connect, ownRedis, redisOrSkip, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();

describe.skipIf(!available)('createRedisStore against a real Redis (127.0.0.1:6379)', () => {
  let client: Redis;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });

  it('keeps the StateStore contract: set-if-absent, get, compare-and-set, compare-and-delete, expiry', async () => {
    const store = createRedisStore(client, { prefix: testPrefix('contract') });
    expect(await store.setIfAbsent('k', 'one', 10_000)).toEqual({ written: true });
    expect(await store.setIfAbsent('k', 'two', 10_000)).toEqual({ written: false, current: 'one' });
    expect(await store.get('k')).toBe('one');
    expect(await store.compareAndSet('k', 'nope', 'three', 10_000)).toBe(false);
    expect(await store.compareAndSet('k', 'one', 'three', 10_000)).toBe(true);
    expect(await store.get('k')).toBe('three');
    expect(await store.compareAndDelete('k', 'one')).toBe(false);
    expect(await store.compareAndDelete('k', 'three')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
    await store.setIfAbsent('short', 'v', 30);
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.get('short')).toBeUndefined();
  });

  it('a second registry on the same Redis (another worker) replays a completed operation instead of running it again', async () => {
    const prefix = testPrefix('replay');
    let charges = 0;
    const make = () => {
      const registry = createRegistry({ store: createRedisStore(client, { prefix }) });
      registry.register({
        name: 'charge_card',
        input: z.object({ amount: z.number() }),
        idempotency: { honored: true },
        execute: async ({ amount }) => {
          charges++;
          return { charged: amount };
        },
      });
      return registry;
    };
    const a = make();
    const b = make();
    expect(await a.call('charge_card', { amount: 42 }, { callId: 'call_1' })).toEqual({ charged: 42 });
    expect(await b.call('charge_card', { amount: 42 }, { callId: 'call_1' })).toEqual({ charged: 42 });
    expect(charges).toBe(1);
  });

  it('shares a breaker: failures seen through one policy open it for another on the same Redis', async () => {
    const prefix = testPrefix('breaker');
    const profile = {
      retry: { maxAttempts: 1 },
      breaker: { mode: 'consecutive' as const, consecutiveFailures: 3, openMs: 60_000 },
    };
    const one = createPolicy(profile, {
      dependency: 'search',
      shared: createRedisStore(client, { prefix, syncMs: 0 }),
    });
    const two = createPolicy(profile, {
      dependency: 'search',
      shared: createRedisStore(client, { prefix, syncMs: 0 }),
    });
    const down = async () => {
      throw Object.assign(new Error('HTTP 500'), { status: 500, headers: {} });
    };
    for (let i = 0; i < 3; i++) await one.run(down).catch(() => {});
    let reached = false;
    const err = await two
      .run(async () => {
        reached = true;
      })
      .catch((e: unknown) => e);
    expect(reached).toBe(false);
    expect((err as { code?: string }).code).toBe('circuit_open');
  });

  it('shares a cooldown: a 429 seen by one process pauses the dependency for another', async () => {
    const prefix = testPrefix('cooldown');
    const profile = { retry: { maxAttempts: 1 } };
    const one = createPolicy(profile, {
      dependency: 'llm',
      shared: createRedisStore(client, { prefix, syncMs: 0 }),
    });
    const two = createPolicy(profile, {
      dependency: 'llm',
      shared: createRedisStore(client, { prefix, syncMs: 0 }),
    });
    await one
      .run(async () => {
        throw Object.assign(new Error('HTTP 429'), { status: 429, headers: { 'retry-after': '20' } });
      })
      .catch(() => {});
    // Two must learn of the cooldown before deciding: its first admission asks Redis.
    let reached = false;
    const err = await two
      .run(
        async () => {
          reached = true;
        },
        { deadlineMs: 1_000 },
      )
      .catch((e: unknown) => e);
    expect(reached).toBe(false);
    expect((err as { code?: string }).code).toBe('rate_limited');
  });

  it('shares the retry budget across processes', async () => {
    const prefix = testPrefix('budget');
    const profile = {
      breaker: false as const,
      retry: {
        maxAttempts: 5,
        backoff: { initialMs: 1, maxMs: 1 },
        budget: { ratio: 0.5, minPerSecond: 0, windowMs: 10_000 },
      },
    };
    const policies = [0, 1].map(() =>
      createPolicy(profile, { dependency: 'flaky', shared: createRedisStore(client, { prefix, syncMs: 0 }) }),
    );
    let calls = 0;
    const fail = async () => {
      calls++;
      throw Object.assign(new Error('HTTP 503'), { status: 503, headers: {} });
    };
    for (let i = 0; i < 2; i++) for (const p of policies) await p.run(fail).catch(() => {});
    // 4 first attempts across both processes allow 2 retries in all, not 2 per process.
    expect(calls).toBe(6);
  });
});

describe.skipIf(!available)('when Redis fails (a dedicated redis-server, killed and restarted)', () => {
  it('idempotent calls go on (fail open), non-idempotent ones are refused (fail closed), and all recovers', async () => {
    const server = await ownRedis();
    await server.start();
    const client = connect(server.port);
    client.on('error', () => {});
    try {
      const store = createRedisStore(client, {
        prefix: testPrefix('outage'),
        commandTimeoutMs: 100,
        retryRedisAfterMs: 0,
      });
      const registry = createRegistry({ store });
      let searches = 0;
      let bookings = 0;
      registry.register({
        name: 'search',
        effect: 'idempotent',
        input: z.object({ q: z.string() }),
        execute: async () => ++searches,
      });
      registry.register({
        name: 'book',
        input: z.object({ room: z.string() }),
        execute: async () => ++bookings,
      });
      expect(await registry.call('book', { room: 'a' }, { callId: 'c1' })).toBe(1);

      await server.kill();
      expect(await registry.call('search', { q: 'x' }, { callId: 'c2' })).toBe(1);
      const refused = await registry.call('book', { room: 'b' }, { callId: 'c3' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LedgerUnavailableError);
      expect(bookings).toBe(1);

      await server.start();
      // ioredis reconnects on its own; give it the moment it needs.
      for (let i = 0; i < 50 && client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await registry.call('book', { room: 'b' }, { callId: 'c4' })).toBe(2);
      expect(await registry.call('book', { room: 'b' }, { callId: 'c4' })).toBe(2); // replayed, not run again
      expect(bookings).toBe(2);
    } finally {
      client.disconnect();
      await server.kill();
    }
  }, 20_000);
});
