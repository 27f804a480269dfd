/**
 * useVirtualClock: a fresh virtual clock before each test, driven through a
 * policy's retries and breaker without real time, for vitest (here) and
 * node:test (a child process running fixtures/clock.node-test.ts).
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CircuitOpenError, createPolicy } from 'breakwater';
import { useVirtualClock } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const clock = useVirtualClock({ beforeEach, afterEach });
/** Shaped like the SDKs' APIError: a 503 is worth retrying and counts against the breaker. */
const unavailable = () => Object.assign(new Error('HTTP 503'), { status: 503, headers: {} });

describe('useVirtualClock with vitest', () => {
  it('moves through a breaker’s open period without real time', async () => {
    const policy = createPolicy(
      { retry: { maxAttempts: 1 }, breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 60_000 } },
      { clock, random: () => 0.5 },
    );
    for (let i = 0; i < 2; i++) await clock.settle(policy.run(async () => Promise.reject(unavailable())));
    const open = await clock.settle(policy.run(async () => 'not called'));
    expect(open.ok === false && open.error instanceof CircuitOpenError).toBe(true);
    await clock.advance(60_000);
    expect(await clock.run(policy.run(async () => 'half-open probe'))).toBe('half-open probe');
    expect(clock.elapsed()).toBe(60_000);
  });

  it('starts each test afresh', () => {
    expect(clock.elapsed()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('useVirtualClock with node:test', () => {
  it('runs the same helper under node --test', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=tap',
        join(ROOT, 'test/testing/fixtures/clock.node-test.ts'),
      ],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/# pass 2/);
    expect(stdout).toMatch(/# fail 0/);
  }, 60_000);
});
