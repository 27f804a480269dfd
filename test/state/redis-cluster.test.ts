/**
 * `createRedisStore(new Cluster([...]))` on a real three-node Redis Cluster
 * that the test starts on free local ports and tears down (issue 15): the
 * ledger (keys spread over the nodes, each script on one key) and a shared
 * breaker, with the store's default prefix.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createRegistry } from '../../src/tools/registry.js';
import { type OwnCluster, ownCluster, redisClusterOrSkip } from '../fakes/redis-cluster.js';

const available = await redisClusterOrSkip();

describe.skipIf(!available)('createRedisStore on a three-node Redis Cluster', () => {
  let cluster: OwnCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await ownCluster(3);
    client = new Cluster(
      cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
    });
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('keeps the StateStore contract through the cluster', async () => {
    const store = createRedisStore(client, { prefix: 'contract:', checkPersistence: false });
    expect(await store.setIfAbsent('k', 'one', 10_000)).toEqual({ written: true });
    expect(await store.setIfAbsent('k', 'two', 10_000)).toEqual({ written: false, current: 'one' });
    expect(await store.compareAndSet('k', 'one', 'three', 10_000)).toBe(true);
    expect(await store.get('k')).toBe('three');
    expect(await store.compareAndDelete('k', 'three')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
  });

  it('the ledger: a second registry replays each completed call, whichever node holds its key', async () => {
    let charges = 0;
    const make = () => {
      const registry = createRegistry({ store: createRedisStore(client, { checkPersistence: false }) });
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
    const calls = 12;
    for (let i = 0; i < calls; i++) {
      expect(await a.call('charge_card', { amount: i }, { callId: `call_${i}` })).toEqual({ charged: i });
      expect(await b.call('charge_card', { amount: i }, { callId: `call_${i}` })).toEqual({ charged: i });
    }
    expect(charges).toBe(calls);
    // The records really are spread over the cluster: more than one master holds ledger keys.
    const perNode = await Promise.all(client.nodes('master').map((n) => n.keys('bw:ledger:*')));
    expect(perNode.flat()).toHaveLength(calls);
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
  });

  it('a shared breaker: failures seen through one policy open it for another', async () => {
    const profile = {
      retry: { maxAttempts: 1 },
      breaker: { mode: 'consecutive' as const, consecutiveFailures: 3, openMs: 60_000 },
    };
    const policyOn = () =>
      createPolicy(profile, {
        dependency: 'search',
        shared: createRedisStore(client, { syncMs: 0, checkPersistence: false }),
      });
    const one = policyOn();
    const two = policyOn();
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
    expect(await client.exists('bw:health:{search}')).toBe(1);
  });
});
