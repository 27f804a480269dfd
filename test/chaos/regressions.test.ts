/**
 * The chaos suite's findings, each pinned as a plain test with the shrunk
 * schedule that showed it, so that a fix cannot quietly regress.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClassifyingFetch } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createPolicy } from '../../src/policy/pipeline.js';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createRegistry } from '../../src/tools/registry.js';
import { httpServer } from '../fakes/tcp.js';
import { httpError } from './in-process.js';
import { runSchedule, worldArb } from './stack.js';

describe('a call queued at the gate while the breaker opens', () => {
  it('is refused as circuit_open instead of reaching the dependency', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(
      {
        breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 1_000, maxOpenMs: 1_000 },
        gate: { concurrency: 1, maxQueue: 4, queueTimeoutMs: null },
        retry: { maxAttempts: 1 },
      },
      { clock },
    );
    let reached = 0;
    const failing = async () => {
      reached++;
      await new Promise<void>((r) => clock.setTimeout(r, 10));
      throw httpError(500);
    };
    // The first call holds the only slot and fails, tripping the breaker; the second waited for that slot.
    const first = policy.run(failing).catch((e: unknown) => e);
    const second = policy.run(failing).catch((e: unknown) => e);
    const [a, b] = await clock.run(Promise.all([first, second]));
    expect(isBreakwaterError(a, 'dependency_failed')).toBe(true);
    expect(isBreakwaterError(b, 'circuit_open')).toBe(true);
    expect(reached).toBe(1);
    expect(policy.gate?.inFlight).toBe(0);
  });

  it('is refused when the half-open period ran out while it waited as a probe', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(
      {
        breaker: {
          mode: 'consecutive',
          consecutiveFailures: 1,
          openMs: 20,
          maxOpenMs: 20,
          halfOpenProbes: 2,
          halfOpenMaxWaitMs: 20,
        },
        gate: { concurrency: 1, maxQueue: 1, queueTimeoutMs: null },
        retry: { maxAttempts: 1 },
      },
      { clock },
    );
    let reached = 0;
    const call = (ms: number, fail: boolean) => async () => {
      reached++;
      await new Promise<void>((r) => clock.setTimeout(r, ms));
      if (fail) throw httpError(503);
      return 'ok';
    };
    await clock.run(policy.run(call(0, true)).catch(() => undefined));
    await clock.advance(20);
    // Two probes are admitted; the second waits for the slot while the first outlasts the half-open wait.
    const probe = policy.run(call(20, false));
    const queued = policy.run(call(0, false)).catch((e: unknown) => e);
    const [p, q] = await clock.run(Promise.all([probe, queued]));
    expect(p).toBe('ok');
    expect(isBreakwaterError(q, 'circuit_open')).toBe(true);
    expect(reached).toBe(2);
  });
});

describe('a retry loop whose attempt just tripped the breaker', () => {
  it('stops at once, without sleeping a backoff to find the breaker open, so that a router fails over now', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(
      {
        retry: {
          maxAttempts: 3,
          backoff: { kind: 'constant', initialMs: 1_000, maxMs: 1_000 },
          budget: false,
        },
        breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 10_000, maxOpenMs: 10_000 },
        gate: false,
      },
      { clock },
    );
    const err = await clock.run(
      policy
        .run(async () => {
          await new Promise<void>((r) => clock.setTimeout(r, 20));
          throw httpError(502);
        })
        .catch((e: unknown) => e),
    );
    expect(isBreakwaterError(err, 'circuit_open')).toBe(true);
    // Before the fix the call ended at 1 020 ms: the 1 s backoff was slept first.
    expect(clock.now()).toBe(1_000_020);
  });
});

describe('a non-idempotent tool whose dependency honors the key', () => {
  it('tells the model the outcome is unknown when an attempt timed out after sending and the retry was refused', async () => {
    const clock = createVirtualClock(1_000_000);
    const registry = createRegistry({ clock, random: () => 0.5 });
    let charges = 0;
    registry.register({
      name: 'charge',
      input: z.object({ order: z.string() }),
      idempotency: { honored: true },
      profile: {
        timeout: { attemptMs: 20, totalMs: 1_000 },
        retry: { maxAttempts: 2, backoff: { kind: 'constant', initialMs: 0, maxMs: 0 }, budget: false },
        breaker: { mode: 'consecutive', consecutiveFailures: 1, openMs: 500, maxOpenMs: 500 },
        gate: false,
      },
      // The charge is made, but the answer comes after the attempt timeout: the retry then meets an open breaker.
      execute: async () => {
        charges++;
        await new Promise<void>((r) => clock.setTimeout(r, 50));
        return { id: 'ch_1' };
      },
    });
    const [result] = await clock.run(
      registry.handleToolCalls([
        { id: 'call_1', type: 'function', function: { name: 'charge', arguments: '{"order":"A-1"}' } },
      ]),
    );
    const payload = JSON.parse(String(result?.content)) as { error: { outcome: string } };
    expect(charges).toBe(1);
    // Before the fix: "failed" (circuit open, "call not attempted"), although the card was charged.
    expect(payload.error.outcome).toBe('unknown');
  });
});

describe('a classifying fetch with a connect timeout', () => {
  it('still aborts the response body when the caller aborts after the headers arrived', async () => {
    // Headers and one event, then silence: a stream that stalls mid-way.
    const server = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    try {
      const fetch = createClassifyingFetch({ connectTimeoutMs: 2_000 });
      const caller = new AbortController();
      const res = await fetch(server.url, { signal: caller.signal });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      caller.abort(new Error('the caller gave up'));
      // Before the fix the link to the caller's signal was dropped once `fetch` resolved: this read never ended.
      await expect(reader.read()).rejects.toThrow('the caller gave up');
    } finally {
      await server.close();
    }
  });
});

describe('a call waiting for a half-open breaker whose probe another call took (found by the long chaos run)', () => {
  it('ends by its deadline instead of being let in the moment the probe succeeds, past it', async () => {
    const clock = createVirtualClock(1_000_000);
    const policy = createPolicy(
      {
        timeout: { attemptMs: 20, totalMs: 1_221 },
        retry: { maxAttempts: 3, backoff: { initialMs: 0, maxMs: 0 }, budget: false },
        breaker: {
          mode: 'consecutive',
          consecutiveFailures: 1,
          openMs: 590,
          maxOpenMs: 590,
          halfOpenMaxWaitMs: 20,
          waitWhenOpen: true,
        },
        gate: false,
      },
      { clock },
    );
    const start = clock.now();
    // Two attempts hang into their timeouts (each trips the breaker); the third waits for the breaker.
    const op = policy.run(() => new Promise<string>(() => {})).catch((e: unknown) => e);
    // At the second reopening another caller takes the only probe and answers 2 ms later: 1 ms past op's deadline.
    clock.setTimeout(() => {
      void policy.run(() => new Promise<string>((r) => clock.setTimeout(() => r('probe'), 2)));
    }, 1_220);
    const err = await clock.run(op);
    expect(isBreakwaterError(err, 'timeout')).toBe(true);
    expect(clock.now() - start).toBeLessThanOrEqual(1_221);
  });
});

describe('two searches in a batch, the first tripping the breaker while the second is between its claim check and its request', () => {
  it('the second does not reach the dependency while the breaker is open (the shrunk schedule of `npm run chaos -- --runs 10000`)', async () => {
    // Replayed from fast-check's seed and path: a batch of two searches and a charge, the search
    // refusing connections, the breaker opening after one failure, the ledger's store failing. The
    // second search's claim check took a turn of the event loop after its admission, in which the
    // first search's failure opened the breaker. (If the chaos arbitraries change, this replays
    // another schedule: re-pin it from a fresh failure or drop it.)
    await fc.assert(
      fc.asyncProperty(worldArb, async (spec) => {
        const { violations } = await runSchedule(spec);
        expect(violations).toEqual([]);
      }),
      {
        seed: -627813884,
        path: '4346:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1:0:0:0:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:6:5:5:10:10:5:5:5:5:8:7:10:10:13:13:16:18:20:20:21:21:26:0:0:2:2:2:7:8:7:10:11:11:11:11:11:11:9:9:9:9:9:9:9:9:9:9',
        numRuns: 1,
      },
    );
  });
});
