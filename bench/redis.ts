/**
 * What sharing state through Redis costs per call, next to the in-process
 * store and to one bare Redis PING round trip, in the same run; and how many
 * Redis commands a call sends.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import { type Measured, measure, table } from './harness.js';
import { bw, redis as redisEntry } from './library.js';

export async function redisBench(): Promise<{ text: string } | undefined> {
  const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch {
    client.disconnect();
    return undefined;
  }
  const prefix = `bwbench:${Date.now()}:`;
  const rows: Measured[] = [];
  const calls = 20_000;
  rows.push(await measure('Redis PING round trip', () => client.ping(), calls, 5));

  const memoryPolicy = bw.createPolicy('idempotent');
  const noop = async () => 1;
  rows.push(await measure('createPolicy, in-process state', () => memoryPolicy.run(noop), calls, 5));
  const store = redisEntry.createRedisStore(client, { prefix });
  const sharedPolicy = bw.createPolicy('idempotent', { shared: store, dependency: 'bench' });
  const before = store.commands;
  rows.push(
    await measure('createPolicy, shared through createRedisStore', () => sharedPolicy.run(noop), calls, 5),
  );
  const sharedCommands = (store.commands - before) / (calls * 6);

  // Room for every call of the run: a non-idempotent call's result is kept for its whole TTL.
  const registries = [
    bw.createMemoryStore({ maxEntries: 200_000 }),
    redisEntry.createRedisStore(client, { prefix: `${prefix}ledger:` }),
  ].map((s) => {
    const r = bw.createRegistry({ store: s });
    r.register({ name: 'book', input: z.object({ n: z.number() }), execute: async ({ n }) => n });
    return { r, s };
  });
  let id = 0;
  rows.push(
    await measure(
      'non-idempotent tool call with a call id, createMemoryStore',
      () => registries[0]!.r.call('book', { n: 1 }, { callId: `m${id++}` }),
      calls,
      5,
    ),
  );
  const ledgerStore = registries[1]!.s as ReturnType<typeof redisEntry.createRedisStore>;
  const ledgerBefore = ledgerStore.commands;
  rows.push(
    await measure(
      'non-idempotent tool call with a call id, createRedisStore',
      () => registries[1]!.r.call('book', { n: 1 }, { callId: `r${id++}` }),
      calls,
      5,
    ),
  );
  const ledgerCommands = (ledgerStore.commands - ledgerBefore) / (calls * 6);
  client.disconnect();
  const ping = rows[0]!.nsPerCall;
  const text = `${table(
    ['configuration', 'µs per call', '× PING'],
    rows.map((r) => [r.name, r.nsPerCall / 1000, r.nsPerCall / ping]),
  )}\n\nRedis commands per call: shared policy ${sharedCommands.toFixed(2)} (happy path), tool call with ledger ${ledgerCommands.toFixed(2)}.`;
  return { text };
}
