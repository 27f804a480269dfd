import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Clock,
  createMemoryStore,
  createRegistry,
  createVirtualClock,
  OperationInFlightError,
  ToolError,
} from '../../src/index.js';

/**
 * A process's monotonic clock over a virtual one: `pause(ms)` is time the
 * process did not see pass (SIGSTOP, a laptop asleep) — on waking, its clock
 * reads later, and its overdue timers then fire, late, in their order.
 */
function pausableClock(start: number) {
  const base = createVirtualClock(start);
  let slept = 0;
  const clock: Clock = {
    now: () => base.now() + slept,
    setTimeout: (callback, ms) => base.setTimeout(callback, ms),
    clearTimeout: (handle) => base.clearTimeout(handle),
  };
  return {
    clock,
    base,
    pause(ms: number) {
      slept += ms;
    },
  };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('a call paused between its attempts', () => {
  it('does not run again once another process took over its lapsed claim', async () => {
    // The store's clock, and the second process's: time goes on for them while the first is paused.
    const world = createVirtualClock(0);
    const store = createMemoryStore({ clock: world });
    const first = pausableClock(0);
    const runs: string[] = [];
    const make = (name: string, clock: Clock) => {
      const registry = createRegistry({ store, clock, random: () => 0.5 });
      registry.register({
        name: 'sync_inventory',
        input: z.object({ sku: z.string() }),
        effect: 'idempotent',
        // No deadline: the claim is a renewed lease, and nothing else bounds the pause.
        profile: { timeout: { attemptMs: null, totalMs: null } },
        execute: ({ sku }) => {
          runs.push(name);
          if (name === 'first' && runs.length === 1)
            throw new ToolError('busy', { kind: 'server_error', delivery: 'not_processed' });
          return { sku, synced: name };
        },
      });
      return registry;
    };
    const a = make('first', first.clock);
    const b = make('second', world);
    const call = { callId: 'call_sync', scope: 'tenant-1' };

    const one = a.call('sync_inventory', { sku: 'X1' }, call).then(
      () => undefined,
      (err: unknown) => err,
    );
    // The first attempt fails and the policy sleeps its backoff, on the first process's clock.
    for (let i = 0; i < 20 && runs.length === 0; i++) await settle();
    await settle();
    expect(runs).toEqual(['first']);
    expect(first.base.pendingTimers()).toBeGreaterThan(0);

    // Paused in the backoff, past its lease (30 s without a deadline); its renewals do not run.
    first.pause(120_000);
    await world.advance(120_000);
    // The call, re-delivered to the other process, finds the claim abandoned and takes it over.
    expect(await b.call('sync_inventory', { sku: 'X1' }, call)).toEqual({ sku: 'X1', synced: 'second' });
    expect(runs).toEqual(['first', 'second']);

    // The first wakes: its backoff ends, and its retry must not run the call a second time.
    await first.base.advance(120_000);
    const err = await one;
    expect(err).toBeInstanceOf(OperationInFlightError);
    expect(String(err)).toMatch(/claim lapsed/);
    expect(runs).toEqual(['first', 'second']);
    // The record is the second process's result, untouched: a later delivery replays it.
    expect(await a.call('sync_inventory', { sku: 'X1' }, call)).toEqual({ sku: 'X1', synced: 'second' });
    expect(runs).toEqual(['first', 'second']);
  });

  it('still retries when its claim held through the backoff', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock });
    const registry = createRegistry({ store, clock, random: () => 0.5 });
    let runs = 0;
    registry.register({
      name: 'sync_inventory',
      input: z.object({ sku: z.string() }),
      effect: 'idempotent',
      profile: { timeout: { attemptMs: null, totalMs: null } },
      execute: ({ sku }) => {
        runs++;
        if (runs === 1) throw new ToolError('busy', { kind: 'server_error', delivery: 'not_processed' });
        return { sku };
      },
    });
    const value = await clock.run(registry.call('sync_inventory', { sku: 'X2' }, { callId: 'call_2' }));
    expect(value).toEqual({ sku: 'X2' });
    expect(runs).toBe(2);
  });
});
