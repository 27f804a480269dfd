/**
 * A worker process for the multi-process Redis tests: it builds its own
 * policy and registry on a shared Redis, and runs what the parent asks over
 * IPC, reporting how many times its dependency was really reached.
 */
import { z } from 'zod';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createRedisStore } from '../../src/state/redis.js';
import { createRegistry } from '../../src/tools/registry.js';
import { connect } from '../fakes/redis.js';

const [prefix, paymentUrl] = process.argv.slice(2) as [string, string];
const client = connect();
const store = createRedisStore(client, { prefix, syncMs: 0 });
const policy = createPolicy(
  {
    retry: { maxAttempts: 1 },
    breaker: {
      mode: 'consecutive',
      consecutiveFailures: 3,
      openMs: 300,
      halfOpenProbes: 2,
      halfOpenMaxWaitMs: 5_000,
    },
  },
  { dependency: 'search', shared: store },
);
const registry = createRegistry({ store, ledgerLeaseGraceMs: 200 });
registry.register({
  name: 'charge_card',
  input: z.object({ amount: z.number() }),
  idempotency: { honored: true },
  profile: { timeout: { attemptMs: 1_000, totalMs: 10_000 }, retry: { maxAttempts: 1 } },
  execute: async (input, ctx) => {
    const res = await ctx.fetch(paymentUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    return res.json();
  },
});

let reached = 0;
type Command =
  | { op: 'call'; fail: boolean; holdMs: number }
  | { op: 'charge'; callId: string; deadlineMs: number }
  | { op: 'exit' };

process.on('message', async (cmd: Command) => {
  if (cmd.op === 'exit') {
    client.disconnect();
    process.exit(0);
  }
  if (cmd.op === 'charge') {
    try {
      const value = await registry.call(
        'charge_card',
        { amount: 4200 },
        { callId: cmd.callId, deadlineMs: cmd.deadlineMs },
      );
      process.send?.({ ok: true, value });
    } catch (err) {
      process.send?.({ ok: false, code: isBreakwaterError(err) ? err.code : String(err) });
    }
    return;
  }
  try {
    await policy.run(async () => {
      reached++;
      await new Promise((r) => setTimeout(r, cmd.holdMs));
      if (cmd.fail) throw Object.assign(new Error('HTTP 500'), { status: 500, headers: {} });
      return 'ok';
    });
    process.send?.({ ok: true, reached });
  } catch (err) {
    process.send?.({ ok: false, code: isBreakwaterError(err) ? err.code : String(err), reached });
  }
});
process.send?.({ ready: true });
