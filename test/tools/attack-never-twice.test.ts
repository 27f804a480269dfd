import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createRegistry,
  createVirtualClock,
  memoryStore,
  type StateStore,
  type WriteOptions,
} from '../../src/index.js';

/**
 * Attacks on "never twice" from outside, through the public API: each test is
 * a break found by trying, kept so it stays fixed.
 */
describe('never twice, attacked', () => {
  it('a call id cannot be chosen so that its key is another scope’s key', async () => {
    const store = memoryStore();
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
