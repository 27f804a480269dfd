import { createFakeImageApi, type ImageApi } from 'breakwater/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createMemoryStore,
  createRegistry,
  createVirtualClock,
  OperationInFlightError,
  type StateStore,
  type VirtualClock,
} from '../../src/index.js';
import { createRedisStore } from '../../src/redis.js';
import { connect, redisOrSkip, runWithRedis, testPrefix } from '../fakes/redis.js';

const redisUp = await redisOrSkip();

let images: ImageApi;
beforeAll(async () => {
  images = await createFakeImageApi();
});
afterAll(async () => {
  await images.close();
});

/**
 * Attacks on "never twice" from outside, through the public API: each test is
 * a break found by trying, kept so it stays fixed.
 */
describe('never twice, attacked', () => {
  it('a call id cannot be chosen so that its key is another scope’s key', async () => {
    const store = createMemoryStore();
    const registry = createRegistry({ store });
    const charged: string[] = [];
    registry.register({
      name: 'get_balance',
      input: z.object({ account: z.string() }),
      execute: async ({ account }, ctx) => {
        charged.push(ctx.idempotencyKey);
        return { account, balance: charged.length === 1 ? 'victim: 9 000 EUR' : 'attacker: 0 EUR' };
      },
    });
    // The victim's call, scoped by its tenant.
    await registry.call('get_balance', { account: 'main' }, { callId: 'call_0', scope: 'tenant-V' });
    // A call id is the model's (or the client's) text: one crafted to look like "call_0 in tenant-V",
    // sent on a path without a scope, must not be answered with the victim's result.
    const crafted = await registry.call(
      'get_balance',
      { account: 'main' },
      { callId: 'call_0\0scope\0tenant-V' },
    );
    expect(crafted).toEqual({ account: 'main', balance: 'attacker: 0 EUR' });
    // Nor can a scope and a call id trade characters.
    await registry.call('get_balance', { account: 'main' }, { callId: 'a\0scope\0b', scope: 'c' });
    const traded = await registry.call(
      'get_balance',
      { account: 'main' },
      { callId: 'a', scope: 'b\0scope\0c' },
    );
    expect(charged).toHaveLength(4);
    expect(new Set(charged).size).toBe(4);
    expect(traded).toEqual({ account: 'main', balance: 'attacker: 0 EUR' });
  });
});

/**
 * Moves `clock` on only while something sleeps on it (a twin polling), so
 * that a store's round trips in real time never race virtual time.
 */
async function whileWaiting<T>(clock: VirtualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  while (!done) {
    if (clock.pendingTimers() > 0) await clock.advance(50);
    else await new Promise<void>((r) => setImmediate(r));
  }
  return settled;
}

/**
 * Two processes on one store, their clocks 10 s apart (more than the 5 s lease grace: NTP off on one
 * host, or clocks that never step and so drift): the second must not take the first's live claim for
 * abandoned, ask `reconcile` (which finds nothing yet) and run the call a second time.
 */
async function skewedTwins(
  stores: readonly [StateStore, StateStore],
  op: string,
  wait: <T>(clock: VirtualClock, promise: Promise<T>) => Promise<T> = whileWaiting,
): Promise<void> {
  {
    const clockA = createVirtualClock(1_000_000);
    const clockB = createVirtualClock(1_010_000);
    let started!: () => void;
    const executing = new Promise<void>((r) => {
      started = r;
    });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tool = (clock: typeof clockA, hold: boolean) => {
      // The twin looks at the claim at 0, 1.5 s and 3 s: each look is a claim write bounded by what is
      // left of its deadline (on its virtual clock) in real milliseconds, so none is sent with only
      // a few milliseconds left, which a loaded machine's Redis round trip can outlast.
      const registry = createRegistry({ store: stores[hold ? 0 : 1], clock, ledgerPollMs: 1_500 });
      registry.register({
        name: 'generate_image',
        input: z.object({ prompt: z.string() }),
        execute: async ({ prompt }, ctx) => {
          if (hold) {
            started();
            await held; // still preparing the request: nothing sent yet
          }
          const res = await ctx.fetch(`${images.url}/v1/images`, {
            method: 'POST',
            body: JSON.stringify({ op: prompt, ref: ctx.idempotencyKey }),
          });
          return res.json();
        },
        idempotency: {
          reconcile: async (key, _input, ctx) => {
            const res = await ctx.fetch(`${images.url}/v1/images?ref=${encodeURIComponent(key)}`);
            const { data } = (await res.json()) as { data: unknown[] };
            return data.length > 0 ? { found: true, value: data[0] } : { found: false };
          },
        },
      });
      return registry;
    };
    const a = tool(clockA, true);
    const b = tool(clockB, false);
    const call = { callId: `call_${op}`, scope: 'tenant-1', deadlineMs: 3_000 };
    const first = a.call('generate_image', { prompt: op }, call);
    await executing;
    // The same call, re-delivered to the other process while the first is still working on it.
    const pending = b.call('generate_image', { prompt: op }, call).then(
      (v) => ({ ok: true as const, v }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    // The twin waits for the owner, up to its own deadline (3 s on its own clock).
    const second = await wait(clockB, pending);
    release();
    await first.catch(() => undefined);
    expect(images.imagesFor(op)).toBe(1);
    expect(second.ok).toBe(false);
    expect(!second.ok && second.err instanceof OperationInFlightError).toBe(true);
  }
}

describe('leases across processes whose clocks disagree', () => {
  it('in memory: a twin 10 s ahead waits for the live claim instead of running it again', async () => {
    const store = createMemoryStore();
    await skewedTwins([store, store], 'skew-memory');
  });

  it.skipIf(!redisUp)(
    'on Redis: a twin 10 s ahead waits for the live claim instead of running it again',
    async () => {
      const clients = [connect(), connect()] as const;
      const prefix = testPrefix('skew');
      // No command may time out because the machine is slow: the test is about leases, not timeouts.
      const options = { prefix, checkPersistence: false, commandTimeoutMs: 10_000 };
      try {
        await skewedTwins(
          [createRedisStore(clients[0], options), createRedisStore(clients[1], options)],
          'skew-redis',
          // The twin's clock moves only while none of its Redis commands awaits an answer: never
          // past its deadline during a round trip, however long a loaded machine makes it.
          (clock, promise) => runWithRedis(clock, clients[1], promise),
        );
      } finally {
        await Promise.all(clients.map((c) => c.quit()));
      }
    },
  );
});

describe('a worker that stalls between its claim and its request', () => {
  /** A store whose claims answer only when the test lets them: the owner's process is paused meanwhile. */
  function stalling(inner: StateStore) {
    let hold: Promise<void> | undefined;
    let release!: () => void;
    const store: StateStore = {
      async setIfAbsent(key, value, ttlMs, o) {
        const r = await inner.setIfAbsent(key, value, ttlMs, o);
        if (hold) await hold;
        return r;
      },
      get: (k) => inner.get(k),
      compareAndSet: (k, e, v, t, o) => inner.compareAndSet(k, e, v, t, o),
      compareAndDelete: (k, e) => inner.compareAndDelete(k, e),
      ...(inner.now ? { now: () => (inner.now as () => Promise<number>)() } : {}),
    };
    return {
      store,
      stall() {
        hold = new Promise<void>((r) => {
          release = r;
        });
      },
      resume() {
        hold = undefined;
        release();
      },
    };
  }

  for (const deadlineMs of [3_000, undefined]) {
    it(`does not send after another process took over its lapsed claim (deadline ${deadlineMs ?? 'none'})`, async () => {
      const clock = createVirtualClock(0);
      const shared = createMemoryStore({ clock });
      const a = stalling(shared);
      const op = `stall-${deadlineMs ?? 'none'}`;
      const make = (store: StateStore) => {
        const registry = createRegistry({ store, clock });
        registry.register({
          name: 'generate_image',
          input: z.object({ prompt: z.string() }),
          ...(deadlineMs === undefined ? { profile: { timeout: { attemptMs: null, totalMs: null } } } : {}),
          execute: async ({ prompt }, ctx) => {
            const res = await ctx.fetch(`${images.url}/v1/images`, {
              method: 'POST',
              body: JSON.stringify({ op: prompt, ref: ctx.idempotencyKey }),
            });
            return res.json();
          },
          idempotency: {
            reconcile: async (key, _input, ctx) => {
              const res = await ctx.fetch(`${images.url}/v1/images?ref=${encodeURIComponent(key)}`);
              const { data } = (await res.json()) as { data: unknown[] };
              return data.length > 0 ? { found: true, value: data[0] } : { found: false };
            },
          },
        });
        return registry;
      };
      const first = make(a.store);
      const second = make(shared);
      const call = { callId: `call_${op}`, ...(deadlineMs !== undefined ? { deadlineMs } : {}) };
      a.stall();
      const one = first.call('generate_image', { prompt: op }, call).then(
        () => 'ok',
        (err: unknown) => String(err),
      );
      await new Promise<void>((r) => setImmediate(r));
      // The first process is paused (a long GC, SIGSTOP, a synchronous loop) past its lease...
      await clock.advance(60_000);
      // ...and the call, re-delivered elsewhere, finds it abandoned: reconcile finds nothing, it runs.
      await second.call('generate_image', { prompt: op }, call);
      expect(images.imagesFor(op)).toBe(1);
      a.resume();
      // The paused worker, woken, must not send: its claim is another call's now.
      expect(await whileWaiting(clock, one)).toMatch(/claim lapsed before it ran/);
      expect(images.imagesFor(op)).toBe(1);
    });
  }
});

describe('ledger settings at their limits', () => {
  it('a ledgerTtlMs no store can keep is refused when the registry is made, not on every call', () => {
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e300, Number.MAX_SAFE_INTEGER + 2])
      expect(() => createRegistry({ ledgerTtlMs: ttl })).toThrow(/ledgerTtlMs/);
    expect(() => createRegistry({ ledgerTtlMs: Number.MAX_SAFE_INTEGER })).not.toThrow();
  });

  it.skipIf(!redisUp)('the longest ledgerTtlMs accepted works on Redis', async () => {
    const client = connect();
    try {
      const registry = createRegistry({
        store: createRedisStore(client, { prefix: testPrefix('ttl-max'), checkPersistence: false }),
        ledgerTtlMs: Number.MAX_SAFE_INTEGER,
      });
      let runs = 0;
      registry.register({
        name: 'pay',
        input: z.object({ n: z.number() }),
        execute: async ({ n }) => {
          runs++;
          return n;
        },
      });
      expect(await registry.call('pay', { n: 1 }, { callId: 'c1' })).toBe(1);
      expect(await registry.call('pay', { n: 1 }, { callId: 'c1' })).toBe(1);
      expect(runs).toBe(1);
    } finally {
      await client.quit();
    }
  });
});
