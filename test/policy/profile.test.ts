import { describe, expect, it } from 'vitest';
import { builtinProfiles, ProfileError, resolveProfile } from '../../src/policy/profile.js';

function issuesOf(input: unknown): string[] {
  try {
    resolveProfile(input as never);
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    return (err as ProfileError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the profile to be refused');
}

describe('profiles', () => {
  it('every built-in profile validates and is coherent', () => {
    for (const name of Object.keys(builtinProfiles) as Array<keyof typeof builtinProfiles>) {
      expect(resolveProfile(name).name).toBe(name);
      expect(resolveProfile(builtinProfiles[name])).toEqual(builtinProfiles[name]);
    }
  });

  it('a user profile extends a built-in, deeply', () => {
    const p = resolveProfile({ name: 'search', extends: 'llm', retry: { maxAttempts: 5 } });
    expect(p.name).toBe('search');
    expect(p.retry.maxAttempts).toBe(5);
    expect(p.retry.backoff).toEqual(builtinProfiles.llm.retry.backoff);
    expect(p.timeout).toEqual(builtinProfiles.llm.timeout);
  });

  it('a profile declared non-idempotent starts from the non-idempotent built-in', () => {
    expect(resolveProfile({ effect: 'non-idempotent' }).effect).toBe('non-idempotent');
  });

  it.each([
    [{ timeout: { attemptMs: -5 } }, /^timeout\.attemptMs: /],
    [{ breaker: { failureRatio: 1.5 } }, /^breaker\.failureRatio: /],
    [{ retry: { maxAttempts: 'three' } }, /^retry\.maxAttempts: /],
    [{ retry: { backoff: { kind: 'fibonacci' } } }, /^retry\.backoff\.kind: /],
    [{ timout: { attemptMs: 5 } }, /unknown key "timout"/],
    [{ gate: { concurency: 5 } }, /^gate: unknown key "concurency"/],
    [{ extends: 'nope' }, /^extends: no built-in profile named "nope"/],
  ])('refuses %j naming the field', (input, pattern) => {
    expect(issuesOf(input).some((i) => pattern.test(i))).toBe(true);
  });

  it('refuses __proto__ keys instead of letting them rewire the object', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}');
    expect(issuesOf(input).join()).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an attempt timeout above the total deadline', () => {
    expect(
      issuesOf({ timeout: { attemptMs: 40_000, totalMs: 30_000 }, breaker: { windowMs: 80_000 } }),
    ).toEqual(['timeout.attemptMs: 40000 ms exceeds timeout.totalMs (30000 ms)']);
  });

  it('refuses a breaker window shorter than two attempt timeouts', () => {
    expect(issuesOf({ breaker: { windowMs: 15_000 } })[0]).toMatch(
      /^breaker\.windowMs: 15000 ms is shorter than two attempt timeouts/,
    );
  });

  it('the error message names the profile and every field', () => {
    expect(() =>
      resolveProfile({ name: 'pay', timeout: { attemptMs: 0 }, retry: { maxAttempts: 0 } }),
    ).toThrow(/invalid profile "pay": .*timeout\.attemptMs.*retry\.maxAttempts/);
  });
});
