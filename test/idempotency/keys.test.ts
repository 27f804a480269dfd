import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, fingerprint } from '../../src/idempotency/fingerprint.js';
import {
  assertValidKey,
  contentKey,
  isValidKey,
  keyFromCallId,
  randomKey,
} from '../../src/idempotency/keys.js';

describe('fingerprint', () => {
  it('ignores key order, at every depth', () => {
    expect(fingerprint({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      fingerprint({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }),
    );
  });

  it('is stable under any key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(fingerprint(reversed)).toBe(fingerprint(obj));
      }),
      { numRuns: 200 },
    );
  });

  it('tells different values apart, including the ones JSON would confuse', () => {
    const values: unknown[] = [
      1,
      '1',
      [1],
      { a: 1 },
      { a: '1' },
      null,
      Number.NaN,
      'NaN',
      '!NaN',
      new Date(0),
      new Date(0).toISOString(),
      10n,
      '10',
      [1, 2],
      [2, 1],
      new Set([1]),
      new Map([[1, 2]]),
      { __proto__: null, a: 1 },
      JSON.parse('{"__proto__": 1}'),
    ];
    const prints = values.map(fingerprint);
    // `{ __proto__: null, a: 1 }` is the same data as `{ a: 1 }`.
    expect(new Set(prints).size).toBe(values.length - 1);
  });

  it('skips undefined properties like JSON does, and counts an own __proto__ key', () => {
    expect(fingerprint({ a: 1, b: undefined })).toBe(fingerprint({ a: 1 }));
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1}}');
  });

  it('refuses cycles and absurd depth instead of looping', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => fingerprint(a)).toThrow(/cycle/);
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => fingerprint(deep)).toThrow(/deeper/);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe('keys', () => {
  it('derives the same key from the same tool call, and different keys across tools and calls', () => {
    expect(keyFromCallId('pay', 'call_1')).toBe(keyFromCallId('pay', 'call_1'));
    expect(keyFromCallId('pay', 'call_1')).not.toBe(keyFromCallId('pay', 'call_2'));
    expect(keyFromCallId('pay', 'call_1')).not.toBe(keyFromCallId('book', 'call_1'));
  });

  it('bounds a call-id key by its scope; without one the key is what it was before scopes', () => {
    const a = keyFromCallId('pay', 'call_0', 'tenant-A');
    expect(keyFromCallId('pay', 'call_0', 'tenant-A')).toBe(a);
    expect(keyFromCallId('pay', 'call_0', 'tenant-B')).not.toBe(a);
    expect(keyFromCallId('pay', 'call_0')).not.toBe(a);
    // The unscoped form is unchanged, so records written before scopes existed still replay.
    expect(keyFromCallId('pay', 'call_0')).toBe('bwc_27c714be04230ae8c80977458f92a5c33dce5fce');
  });

  it('no two (call id, scope) pairs share a key, whatever characters they hold, scoped or not', () => {
    const part = fc.oneof(fc.string(), fc.constantFrom('\0', '\0scope\0', '"', '","', '\\'));
    const pair = fc.tuple(
      fc.array(part, { maxLength: 4 }).map((a) => a.join('')),
      fc.option(
        fc.array(part, { maxLength: 4 }).map((a) => a.join('')),
        { nil: undefined },
      ),
    );
    fc.assert(
      fc.property(pair, pair, ([id1, s1], [id2, s2]) => {
        fc.pre(id1 !== id2 || s1 !== s2);
        expect(keyFromCallId('t', id1, s1)).not.toBe(keyFromCallId('t', id2, s2));
      }),
      { numRuns: 2000 },
    );
    // The two forgeries an attacker would try first.
    expect(keyFromCallId('t', 'c\0scope\0V')).not.toBe(keyFromCallId('t', 'c', 'V'));
    expect(keyFromCallId('t', 'a\0scope\0b', 'c')).not.toBe(keyFromCallId('t', 'a', 'b\0scope\0c'));
  });

  it('a scope never collides with a call id that contains the separator', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (id, scope, other) => {
        fc.pre(scope !== other);
        expect(keyFromCallId('t', id, scope)).not.toBe(keyFromCallId('t', id, other));
      }),
      { numRuns: 200 },
    );
  });

  it('derives content keys from tool, input and scope, whatever the key order', () => {
    const k = contentKey('pay', { amount: 5, to: 'bob' }, 'conv-1');
    expect(contentKey('pay', { to: 'bob', amount: 5 }, 'conv-1')).toBe(k);
    expect(contentKey('pay', { amount: 6, to: 'bob' }, 'conv-1')).not.toBe(k);
    expect(contentKey('pay', { amount: 5, to: 'bob' }, 'conv-2')).not.toBe(k);
    expect(contentKey('refund', { amount: 5, to: 'bob' }, 'conv-1')).not.toBe(k);
  });

  it('makes keys that are valid header values, whatever the call id holds', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (id, scope) => {
        expect(isValidKey(keyFromCallId('t', id))).toBe(true);
        expect(isValidKey(contentKey('t', { id }, scope))).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(isValidKey(randomKey())).toBe(true);
    expect(randomKey()).not.toBe(randomKey());
  });

  it('rejects keys that cannot travel in a header, without echoing them', () => {
    expect(isValidKey('')).toBe(false);
    expect(isValidKey('has space')).toBe(false);
    expect(isValidKey('a\nb')).toBe(false);
    expect(isValidKey('x'.repeat(256))).toBe(false);
    expect(() => assertValidKey('secret value')).toThrow(/printable ASCII.*length 12/);
    expect(() => assertValidKey('secret value')).not.toThrow(/secret/);
  });
});
