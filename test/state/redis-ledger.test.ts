/**
 * Issue 12 on a real Redis: claims are leases apart from the record TTL (5),
 * a ledger command that failed leaves no ghost, whether Redis stalls or
 * restarts with the command in ioredis's offline queue (8), and the store
 * says when Redis would lose the ledger on a restart (15). Dedicated
 * redis-servers that the tests pause, kill and restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakePaymentApi, type PaymentApi } from 'breakwater/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LedgerUnavailableError } from '../../src/idempotency/errors.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createRegistry, type Registry } from '../../src/tools/registry.js';
import { connect, type OwnRedis, ownRedis, redisOrSkip, testPrefix } from '../fakes/redis.js';

const available = await redisOrSkip();

let payments: PaymentApi;
beforeAll(async () => {
  payments = await createFakePaymentApi();
});
afterAll(async () => {
  await payments.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let orders = 0;
const nextOrder = () => `ord-${process.pid}-${++orders}`;

/**
 * A payment tool the ledger alone protects: the API does not see the key as
 * honored, so only the ledger stands between a re-delivery and a second charge.
 */
function payments_(registry: Registry): Registry {
  registry.register({
    name: 'charge_card',
    input: z.object({ order: z.string(), amount: z.number().int().positive() }),
    execute: async (input, ctx) => {
      // Plain fetch: no Idempotency-Key reaches the API, so it cannot de-duplicate.
      const res = await fetch(`${payments.url}/v1/charges`, {
        signal: ctx.signal,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...input, currency: 'eur' }),
      });
      return (await res.json()) as { id: string };
    },
  });
  return registry;
}

async function ready(client: Redis): Promise<void> {
  for (let i = 0; i < 200 && client.status !== 'ready'; i++) await sleep(25);
  // Round trip on the same connection: whatever ioredis queued has been sent and answered by now.
  await client.ping();
}

describe.skipIf(!available)('item 5 on Redis: 1 s TTL, 2 s operation, a twin at 1.2 s', () => {
  it('runs once', async () => {
    const client = connect();
    try {
      const prefix = testPrefix('lease');
      let runs = 0;
      const make = () => {
        const registry = createRegistry({
          store: createRedisStore(client, { prefix, checkPersistence: false }),
          ledgerTtlMs: 1_000,
          ledgerLeaseGraceMs: 200,
        });
        registry.register({
          name: 'send_invoice',
          input: z.object({ to: z.string() }),
          profile: { timeout: { attemptMs: null, totalMs: null } },
          execute: async ({ to }) => {
            runs++;
            await sleep(2_000);
            return { sent: to };
          },
        });
        return registry;
      };
      const a = make();
      const b = make();
      const first = a.call('send_invoice', { to: 'x' }, { callId: 'call_1' });
      await sleep(1_200);
      const twin = b.call('send_invoice', { to: 'x' }, { callId: 'call_1' });
      expect(await Promise.all([first, twin])).toEqual([{ sent: 'x' }, { sent: 'x' }]);
      expect(runs).toBe(1);
    } finally {
      await client.quit();
    }
  }, 10_000);
});

describe.skipIf(!available)('item 8: no ghosts (a dedicated redis-server)', () => {
  let server: OwnRedis;
  let client: Redis;
  let admin: Redis;
  beforeAll(async () => {
    server = await ownRedis();
    await server.start();
  });
  afterAll(async () => {
    client?.disconnect();
    admin?.disconnect();
    await server.kill();
  });

  function setup() {
    // ioredis's defaults: an offline queue, and 20 reconnection attempts before queued commands fail.
    client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => {});
    admin = connect(server.port);
    admin.on('error', () => {});
    const registry = payments_(
      createRegistry({
        store: createRedisStore(client, {
          prefix: testPrefix('ghost'),
          commandTimeoutMs: 100,
          checkPersistence: false,
        }),
      }),
    );
    return registry;
  }

  it('a claim held by a stalled Redis (CLIENT PAUSE) and applied after the caller gave up locks nothing', async () => {
    const registry = setup();
    await registry.call('charge_card', { order: nextOrder(), amount: 1 }, { callId: `warm-${nextOrder()}` });
    const order = nextOrder();
    await admin.call('CLIENT', 'PAUSE', '500', 'ALL');
    const refused = await registry
      .call('charge_card', { order, amount: 5 }, { callId: 'call_stalled' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerUnavailableError);
    await sleep(600);
    await ready(client);
    expect(payments.chargesFor(order)).toBe(0);
    // Told "not run, retryable": the retry runs, once. A ghost claim would hold it as in flight.
    const charged = await registry.call(
      'charge_card',
      { order, amount: 5 },
      { callId: 'call_stalled', deadlineMs: 1_000 },
    );
    expect(charged).toMatchObject({ order });
    expect(payments.chargesFor(order)).toBe(1);
  }, 10_000);

  it('the store alone: a write that rejected (Redis paused past the timeout) never lands', async () => {
    setup();
    const store = createRedisStore(client, {
      prefix: testPrefix('late'),
      commandTimeoutMs: 100,
      checkPersistence: false,
    });
    expect(await store.setIfAbsent('warm', 'x', 60_000)).toEqual({ written: true });
    await admin.call('CLIENT', 'PAUSE', '400', 'ALL');
    const claim = await store.setIfAbsent('k', 'claim', 60_000).catch((e: unknown) => e);
    const swap = await store.compareAndSet('warm', 'x', 'y', 60_000).catch((e: unknown) => e);
    expect(claim).toBeInstanceOf(Error);
    expect(swap).toBeInstanceOf(Error);
    await sleep(500);
    await ready(client);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.get('warm')).toBe('x');
  }, 10_000);

  it('a claim left in the offline queue while Redis restarts is refused when ioredis replays it', async () => {
    const registry = setup();
    await registry.call('charge_card', { order: nextOrder(), amount: 1 }, { callId: `warm-${nextOrder()}` });
    const order = nextOrder();
    await server.kill();
    const refused = await registry
      .call('charge_card', { order, amount: 7 }, { callId: 'call_restart' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerUnavailableError);
    await sleep(150);
    await server.start();
    await ready(client);
    expect(payments.chargesFor(order)).toBe(0);
    const charged = await registry.call(
      'charge_card',
      { order, amount: 7 },
      { callId: 'call_restart', deadlineMs: 1_000 },
    );
    expect(charged).toMatchObject({ order });
    expect(payments.chargesFor(order)).toBe(1);
  }, 15_000);
});

describe.skipIf(!available)('item 15: the ledger needs a Redis that persists', () => {
  it('without AOF: one warning, however many stores share the client, naming appendonly', async () => {
    const server = await ownRedis();
    await server.start();
    const client = connect(server.port);
    try {
      const warnings: string[] = [];
      const warn = (m: string) => warnings.push(m);
      createRedisStore(client, { prefix: testPrefix('p1'), warn });
      createRedisStore(client, { prefix: testPrefix('p2'), warn });
      for (let i = 0; i < 40 && warnings.length === 0; i++) await sleep(25);
      await sleep(50);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/appendonly is off/);
    } finally {
      client.disconnect();
      await server.kill();
    }
  });

  it('with AOF: no warning, and a payment re-delivered after a restart is charged once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-aof-'));
    const server = await ownRedis({ appendonly: { dir } });
    await server.start();
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => {});
    try {
      const warnings: string[] = [];
      const store = createRedisStore(client, { prefix: testPrefix('aof'), warn: (m) => warnings.push(m) });
      const registry = payments_(createRegistry({ store }));
      const order = nextOrder();
      const first = await registry.call('charge_card', { order, amount: 9 }, { callId: 'call_aof' });
      expect(warnings).toEqual([]);
      await server.kill();
      await server.start();
      await ready(client);
      expect(await registry.call('charge_card', { order, amount: 9 }, { callId: 'call_aof' })).toEqual(first);
      expect(payments.chargesFor(order)).toBe(1);
    } finally {
      client.disconnect();
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 15_000);
});
