import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/policy/virtual-clock.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { StoreFullError } from '../../src/state/store.js';

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

describe('createMemoryStore: pinned records', () => {
  it('evicts only unpinned records to make room, however old the pinned ones', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock, maxEntries: 3 });
    await store.setIfAbsent('claim', 'pending', 60_000, { pin: true });
    for (let i = 0; i < 10; i++) await store.setIfAbsent(`done${i}`, String(i), 60_000);
    expect(await store.get('claim')).toBe('pending');
    expect(store.size).toBeLessThanOrEqual(3);
    // A pinned record rewritten unpinned (a result that may be replayed) becomes evictable.
    expect(await store.compareAndSet('claim', 'pending', 'done', 60_000)).toBe(true);
    for (let i = 10; i < 20; i++) await store.setIfAbsent(`done${i}`, String(i), 60_000);
    expect(await store.get('claim')).toBeUndefined();
  });

  it('refuses a new key with StoreFullError when only pinned records are left, writing nothing', async () => {
    const clock = createVirtualClock(0);
    const store = createMemoryStore({ clock, maxEntries: 2 });
    await store.setIfAbsent('a', '1', 1_000, { pin: true });
    await store.setIfAbsent('b', '2', 5_000, { pin: true });
    await expect(store.setIfAbsent('c', '3', 1_000)).rejects.toBeInstanceOf(StoreFullError);
    await expect(store.setIfAbsent('c', '3', 1_000)).rejects.toThrow(/must not be forgotten/);
    expect(await store.get('c')).toBeUndefined();
    // Rewriting a key that is held needs no room.
    expect(await store.compareAndSet('a', '1', '1b', 1_000, { pin: true })).toBe(true);
    // Once one expires, there is room again.
    await clock.advance(1_000);
    expect(await store.setIfAbsent('c', '3', 1_000)).toEqual({ written: true });
    expect(await store.get('b')).toBe('2');
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
