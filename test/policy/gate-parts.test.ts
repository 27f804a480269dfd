/**
 * The gate's small parts, each alone: the concurrency limit with its bounded
 * line, the configured token bucket, and the cooldown. Time is given to them
 * as numbers (the virtual clock's), so every figure is exact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Failure } from '../../src/failure/failure.js';
import { Concurrency } from '../../src/policy/gate/concurrency.js';
import { Cooldown } from '../../src/policy/gate/cooldown.js';
import { gateOutcomeOf } from '../../src/policy/gate/outcome.js';
import { TokenBucket } from '../../src/policy/gate/token-bucket.js';

describe('concurrency limit and its line', () => {
  it('counts slots up to the limit; none means no limit', () => {
    const c = new Concurrency<string>(2, 4);
    c.take();
    expect(c.hasFreeSlot()).toBe(true);
    c.take();
    expect(c.hasFreeSlot()).toBe(false);
    c.give();
    expect(c.hasFreeSlot()).toBe(true);
    const free = new Concurrency<string>(null, 4);
    for (let i = 0; i < 1_000; i++) free.take();
    expect(free.hasFreeSlot()).toBe(true);
  });

  it('keeps the line in order, bounded, and lets anyone leave from anywhere in it', () => {
    const c = new Concurrency<string>(1, 3);
    for (const w of ['a', 'b', 'c']) c.join(w);
    expect(c.hasRoom()).toBe(false);
    expect(c.leaveLine('b')).toBe(true);
    expect(c.leaveLine('b')).toBe(false);
    expect(c.hasRoom()).toBe(true);
    c.join('d');
    expect([...c.inLine()]).toEqual([
      ['a', 0],
      ['c', 1],
      ['d', 2],
    ]);
    expect(c.head()).toBe('a');
    c.leaveLine('a');
    expect(c.head()).toBe('c');
    expect(c.waiting).toBe(2);
  });
});

describe('token bucket', () => {
  it('allows a burst of its limit, then one call per interval / limit', () => {
    const b = new TokenBucket(5, 1_000, 0);
    for (let i = 0; i < 5; i++) {
      expect(b.allows(0)).toBe(true);
      b.take();
    }
    expect(b.allows(0)).toBe(false);
    expect(b.msUntil(1, 0)).toBe(200);
    expect(b.allows(199)).toBe(false);
    expect(b.allows(200)).toBe(true);
    b.take();
    // Three calls in a row: the third token is 600 ms away.
    expect(b.msUntil(3, 200)).toBe(600);
  });

  it('never holds more than its limit, however long it stood idle', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (limit, idleMs) => {
          const b = new TokenBucket(limit, 1_000, 0);
          expect(b.available(idleMs)).toBe(limit);
          expect(b.msUntil(limit, idleMs)).toBe(0);
          expect(b.msUntil(limit + 1, idleMs)).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('cooldown', () => {
  it('only lengthens: a shorter Retry-After during a longer pause changes nothing', () => {
    const c = new Cooldown();
    expect(c.active(0)).toBe(false);
    expect(c.extend(500)).toBe(true);
    expect(c.extend(300)).toBe(false);
    expect(c.remaining(100)).toBe(400);
    expect(c.extend(800)).toBe(true);
    expect(c.remaining(100)).toBe(700);
    expect(c.active(799)).toBe(true);
    expect(c.active(800)).toBe(false);
    expect(c.remaining(900)).toBe(0);
  });
});

describe('what an attempt tells the gate', () => {
  const failure = (kind: Failure['kind'], delivery: Failure['delivery']): Failure => ({
    kind,
    delivery,
    message: kind,
    cause: undefined,
  });

  it('an answer is accepted, a 429 refused, and a call that got no answer teaches nothing', () => {
    expect(gateOutcomeOf(undefined)).toBe('answered');
    expect(gateOutcomeOf(failure('rate_limited', 'not_processed'))).toBe('rate_limited');
    expect(gateOutcomeOf(failure('server_error', 'not_processed'))).toBe('answered');
    expect(gateOutcomeOf(failure('timeout', 'unknown'))).toBeUndefined();
    expect(gateOutcomeOf(failure('network', 'not_sent'))).toBeUndefined();
    // A rate limit on a request never sent (a local quota held it) is not the dependency's 429.
    expect(gateOutcomeOf(failure('rate_limited', 'not_sent'))).toBeUndefined();
  });
});
