import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createMemoryStore } from '../../src/state/memory.js';

describe('createMemoryStore', () => {
  it('setIfAbsent writes once and then reports what the key holds', async () => {
    const store = createMemoryStore();
    expect(await store.setIfAbsent('k', 'a', 1_000)).toEqual({ written: true });
    expect(await store.setIfAbsent('k', 'b', 1_000)).toEqual({ written: false, current: 'a' });
    expect(await store.get('k')).toBe('a');
  });

  it('compareAndSet and compareAndDelete act only on the expected value', async () => {
    const store = createMemoryStore();
    await store.setIfAbsent('k', 'a', 1_000);
    expect(await store.compareAndSet('k', 'x', 'b', 1_000)).toBe(false);
    expect(await store.get('k')).toBe('a');
    expect(await store.compareAndSet('k', 'a', 'b', 1_000)).toBe(true);
    expect(await store.get('k')).toBe('b');
    expect(await store.compareAndDelete('k', 'a')).toBe(false);
    expect(await store.compareAndDelete('k', 'b')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.compareAndSet('missing', 'a', 'b', 1_000)).toBe(false);
  });

  it('keys expire on the injected clock, and an expired key can be claimed again', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock });
    await store.setIfAbsent('k', 'a', 1_000);
    await clock.advance(999);
    expect(await store.get('k')).toBe('a');
    await clock.advance(1);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.setIfAbsent('k', 'b', 1_000)).toEqual({ written: true });
  });

  it('compareAndSet renews the TTL', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock });
    await store.setIfAbsent('k', 'a', 100);
    await clock.advance(90);
    await store.compareAndSet('k', 'a', 'b', 100);
    await clock.advance(90);
    expect(await store.get('k')).toBe('b');
  });

  it('stays within maxEntries, dropping expired keys before live ones, then the oldest write', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock, maxEntries: 3 });
    await store.setIfAbsent('short', '1', 10);
    await store.setIfAbsent('old', '2', 1_000);
    await store.setIfAbsent('new', '3', 1_000);
    await clock.advance(20);
    await store.setIfAbsent('fourth', '4', 1_000);
    expect(store.size).toBe(3);
    expect(await store.get('old')).toBe('2');
    await store.setIfAbsent('fifth', '5', 1_000);
    expect(store.size).toBe(3);
    expect(await store.get('old')).toBeUndefined();
    expect(await store.get('new')).toBe('3');
    expect(await store.get('fifth')).toBe('5');
  });

  it('rejects nonsensical TTLs and bounds, naming them', async () => {
    const store = createMemoryStore();
    await expect(store.setIfAbsent('k', 'v', 0)).rejects.toThrow(/ttlMs/);
    await expect(store.setIfAbsent('k', 'v', Number.NaN)).rejects.toThrow(/ttlMs/);
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

describe('createMemoryStore under sustained load', () => {
  it('never holds more than maxEntries, and keeps the most recent writes', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    for (let i = 0; i < 1_000; i++) {
      await store.setIfAbsent(`k${i}`, String(i), 60_000);
      expect(store.size).toBeLessThanOrEqual(100);
    }
    expect(await store.get('k999')).toBe('999');
    expect(await store.get('k0')).toBeUndefined();
  });
});
