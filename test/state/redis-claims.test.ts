/**
 * The claim check before each attempt (`ClaimCheck`), on the real Redis
 * store: a claim whose lease lapsed while its process was paused and that a
 * twin (a second ledger on the same Redis) took over is refused before the
 * next attempt; and a claim that Redis forgot (killed, restarted empty: it
 * keeps nothing on disk) is never run a second time because of that.
 *
 * The owner's clock is virtual: its renewals fire only when the test moves
 * it, which is how a paused process (SIGSTOP, a long GC) looks from inside.
 * Leases on Redis are on Redis's own `TIME`, so a lapse there takes real
 * milliseconds. The restart tests kill a dedicated redis-server (never the
 * shared one at 6379, which other test files use at the same time).
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperationInFlightError } from '../../src/idempotency/errors.js';
import { type ClaimCheck, createLedger, type LedgerRunOptions } from '../../src/idempotency/ledger.js';
import { createVirtualClock, type VirtualClock } from '../../src/policy/virtual-clock.js';
import { createRedisStore } from '../../src/state/redis.js';
import { connect, type OwnRedis, ownRedis, redisOrSkip, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits (real time) until `ready()` says so; what the test waits on is an event, never a guess. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (ready()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function connected(client: Redis): Promise<void> {
  await until(() => client.status === 'ready', 'the client to reconnect');
  await client.ping();
}

type TwinMode = 'idempotent' | 'reconcile-not-found' | 'no-reconcile';

const base = (key: string, leaseMs: number): LedgerRunOptions => ({
  key,
  fingerprint: 'fp',
  leaseMs,
  takeOver: false,
  recordUnknown: () => false,
  dependency: 'charge_card',
});

/**
 * The owner's operation: attempt 0 fails before anything took effect (a 503
 * the server did not process), then it backs off until `backoff` resolves,
 * and attempt 1 takes effect. Each attempt asks `stillOurs` first, as the
 * registry does.
 */
function owner(effects: string[], backoff: Promise<void>, attempts: string[]) {
  return async (stillOurs: ClaimCheck) => {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await backoff;
      if (!(await stillOurs())) {
        attempts.push(`refused ${attempt}`);
        throw new OperationInFlightError('charge_card', 'taken_over');
      }
      attempts.push(`ran ${attempt}`);
      if (attempt === 0) continue;
      effects.push('owner');
      return 'owner';
    }
  };
}

function twinOptions(o: LedgerRunOptions, mode: TwinMode, effects: readonly string[]): LedgerRunOptions {
  return {
    ...o,
    takeOver: mode === 'idempotent',
    reconcile:
      mode === 'reconcile-not-found'
        ? // What the dependency says: the effect is found only if it happened.
          async () => (effects.length > 0 ? { found: true, value: 'found' } : { found: false })
        : undefined,
  };
}

/** The twin's operation: it takes effect at once. */
const twinEffect = (effects: string[]) => async () => {
  effects.push('twin');
  return 'twin';
};

const settled = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe.skipIf(!available)('the claim check on Redis: a lapsed lease taken over by a twin', () => {
  const clients: Redis[] = [];
  beforeAll(() => {
    clients.push(connect(), connect());
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('the owner, paused past its lease in its backoff, is refused before its next attempt; the effect runs once (property)', async () => {
    const leaseMs = 150;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<TwinMode>('idempotent', 'reconcile-not-found', 'no-reconcile'),
        // After the lease lapsed: does the twin come before the owner wakes, or after?
        fc.boolean(),
        async (mode, twinFirst) => {
          const prefix = testPrefix('claim-check');
          const [ca, cb] = clients as [Redis, Redis];
          const clockA: VirtualClock = createVirtualClock(0);
          const a = createLedger({
            store: createRedisStore(ca, { prefix, checkPersistence: false }),
            clock: clockA,
          });
          const b = createLedger({ store: createRedisStore(cb, { prefix, checkPersistence: false }) });
          const o = base('k', leaseMs);
          const effects: string[] = [];
          const attempts: string[] = [];
          const backoff = deferred();
          const first = settled(a.run(o, owner(effects, backoff.promise, attempts)));
          await until(() => attempts.length === 1, 'the first attempt');

          // Paused in its backoff: its clock stands still (no renewal), Redis's goes on past the lease.
          await sleep(leaseMs + 50);
          const wake = async () => {
            // It wakes: its clock jumps, its overdue renewal fires, and the backoff ends.
            await clockA.advance(leaseMs + 50);
            backoff.resolve();
            await first;
          };
          const twin = async () => settled(b.run(twinOptions(o, mode, effects), twinEffect(effects)));
          let second: Awaited<ReturnType<typeof twin>>;
          if (twinFirst) {
            second = await twin();
            await wake();
          } else {
            await wake();
            second = await twin();
          }
          const one = await first;

          expect(effects.length).toBeLessThanOrEqual(1);
          if (twinFirst) {
            // The twin found the claim abandoned: the owner must not send again, whatever the twin did.
            expect(attempts).toEqual(['ran 0', 'refused 1']);
            expect(one.ok).toBe(false);
            expect(!one.ok && one.error).toBeInstanceOf(OperationInFlightError);
            expect(effects).toEqual(mode === 'idempotent' || mode === 'reconcile-not-found' ? ['twin'] : []);
          } else {
            // Woken before anyone took the key: its renewal finds its claim and it goes on, once.
            expect(one).toEqual({ ok: true, value: { value: 'owner', source: 'executed' } });
            expect(effects).toEqual(['owner']);
            expect(second).toEqual({ ok: true, value: { value: 'owner', source: 'replayed' } });
          }
        },
      ),
      { seed: 20261201, numRuns: 16 },
    );
  }, 60_000);
});

describe.skipIf(!available)(
  'the claim check on Redis: Redis restarted empty while a call holds its claim',
  () => {
    let server: OwnRedis;
    let ca: Redis;
    let cb: Redis;
    beforeAll(async () => {
      server = await ownRedis(); // no AOF, no RDB: a restart forgets everything
      await server.start();
      // ioredis's defaults: reconnect, and an offline queue.
      ca = new Redis({ host: '127.0.0.1', port: server.port });
      cb = new Redis({ host: '127.0.0.1', port: server.port });
      ca.on('error', () => {});
      cb.on('error', () => {});
    });
    afterAll(async () => {
      ca?.disconnect();
      cb?.disconnect();
      await server.kill();
    });

    async function restartEmpty(): Promise<void> {
      await server.kill();
      await server.start();
      await Promise.all([connected(ca), connected(cb)]);
      expect(await cb.dbsize()).toBe(0);
    }

    /**
     * Where the restart falls in the owner's call, and what comes after it:
     * - `backoff`: between a failed attempt (nothing took effect) and the next;
     *   then the owner's next attempt and a twin arrive in either order.
     * - `settling`: after the attempt that took effect, before its result is
     *   written; then a twin arrives.
     */
    type Plan =
      | { readonly at: 'backoff'; readonly twinFirst: boolean; readonly mode: TwinMode }
      | { readonly at: 'settling'; readonly mode: TwinMode };
    const plans: fc.Arbitrary<Plan> = fc.oneof(
      fc.record({
        at: fc.constant('backoff' as const),
        twinFirst: fc.boolean(),
        mode: fc.constantFrom<TwinMode>('idempotent', 'reconcile-not-found', 'no-reconcile'),
      }),
      fc.record({
        at: fc.constant('settling' as const),
        mode: fc.constantFrom<TwinMode>('idempotent', 'reconcile-not-found', 'no-reconcile'),
      }),
    );

    it('the side effect never runs twice, and the owner is told with a typed error when it cannot know (property)', async () => {
      await fc.assert(
        fc.asyncProperty(plans, async (plan) => {
          const prefix = testPrefix('restart');
          // The owner's clock: its lease stays fresh on it (30 s, as a call without a deadline holds).
          const clockA = createVirtualClock(0);
          const a = createLedger({
            store: createRedisStore(ca, { prefix, checkPersistence: false, commandTimeoutMs: 1_000 }),
            clock: clockA,
          });
          const b = createLedger({
            store: createRedisStore(cb, { prefix, checkPersistence: false, commandTimeoutMs: 1_000 }),
          });
          const o = base('k', 30_000);
          const effects: string[] = [];
          const attempts: string[] = [];
          const twin = () => settled(b.run(twinOptions(o, plan.mode, effects), twinEffect(effects)));

          if (plan.at === 'backoff') {
            const backoff = deferred();
            const first = settled(a.run(o, owner(effects, backoff.promise, attempts)));
            await until(() => attempts.length === 1, 'the first attempt');
            await restartEmpty();
            let second: Awaited<ReturnType<typeof twin>> | undefined;
            if (plan.twinFirst) second = await twin();
            backoff.resolve();
            const one = await first;
            if (!plan.twinFirst) second = await twin();
            expect(effects.length).toBeLessThanOrEqual(1);
            // Its claim is gone, so it cannot know whether a twin holds the key: it must not run.
            expect(attempts).toEqual(['ran 0', 'refused 1']);
            expect(!one.ok && one.error).toBeInstanceOf(OperationInFlightError);
            expect(effects).toEqual(['twin']);
            expect(second).toMatchObject({ ok: true, value: { value: 'twin', source: 'executed' } });
          } else {
            const effectDone = deferred();
            const settle = deferred();
            const first = settled(
              a.run(o, async (stillOurs) => {
                if (!(await stillOurs())) throw new OperationInFlightError('charge_card', 'taken_over');
                effects.push('owner');
                effectDone.resolve();
                await settle.promise;
                return 'owner';
              }),
            );
            await effectDone.promise;
            await restartEmpty();
            settle.resolve();
            const one = await first;
            expect(one).toEqual({ ok: true, value: { value: 'owner', source: 'executed' } });
            // Re-delivered after the restart: the result the owner wrote back is replayed, not run again.
            const second = await twin();
            expect(effects).toEqual(['owner']);
            expect(second).toEqual({ ok: true, value: { value: 'owner', source: 'replayed' } });
          }
        }),
        { seed: 20261202, numRuns: 12 },
      );
    }, 120_000);
  },
);
