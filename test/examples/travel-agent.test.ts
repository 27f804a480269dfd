import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../../examples/travel-agent/cli.js';
import { runTravelAgent } from '../../examples/travel-agent/run.js';
import type { RunSummary } from '../../examples/travel-agent/summary.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the guard had to kill it: the process did not end by itself. */
  readonly killed: boolean;
}

/** Runs the demo as a user would, offline whatever this machine's environment holds. */
function demo(args: readonly string[]): Promise<Exit> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  delete env.FORCE_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    // Not a timing assertion: a guard so that a process that never ends fails the test instead of hanging it.
    const guard = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 55_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

function expectNeverTwice(s: RunSummary): void {
  expect(s.services.charges).toBeLessThanOrEqual(1);
  expect(s.services.seats).toBeLessThanOrEqual(1);
  expect(s.services.rooms).toBeLessThanOrEqual(1);
  expect(s.services.images).toBeLessThanOrEqual(1);
  expect(s.services.duplicateImages).toBe(0);
}

describe('npm run demo', () => {
  it('books the trip, charges the card once at the payment server, fails over, and exits by itself', async () => {
    const run = await demo(['--seed', '1', '--json']);
    expect(run.killed).toBe(false);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const s = JSON.parse(run.stdout) as RunSummary;

    expect(s.offline).toBe(true);
    expect(s.tripBooked).toBe(true);
    expect(s.answer).toMatch(/Your trip is booked/);
    // What the payment server itself counted: one charge, although its first answer was lost.
    expect(s.services.charges).toBe(1);
    expect(s.services.requests.charge).toBeGreaterThanOrEqual(2);
    expect(s.services.seats).toBe(1);
    expect(s.services.rooms).toBe(1);
    // No duplicate image, although the image service timed out after accepting the request.
    expect(s.services.images).toBe(1);
    expect(s.services.duplicateImages).toBe(0);
    // The primary went down mid-conversation: its breaker opened and the router failed over.
    expect(s.failover).toBe(true);
    expect(s.fallbacks[0]).toMatchObject({ from: 'openai/gpt-4.1-mini', to: 'anthropic/claude-haiku-4-5' });
    expect(s.breakerTransitions).toContainEqual(
      expect.objectContaining({ dependency: expect.stringMatching(/^openai\//), from: 'closed', to: 'open' }),
    );
    // The model re-issued a booking after the failover: the ledger replayed it instead of booking again.
    expect(s.dependencies.some((d) => d.replayed > 0)).toBe(true);
    // The 429 paused every hotel search once: no request went out during the cooldown beyond the three in flight.
    expect(s.services.hotelSearchesRefused).toBe(3);
    expect(s.spans).toBeGreaterThan(0);
  }, 60_000);
});

describe('the same fault schedule', () => {
  it('costs the naive retry wrapper a double charge, a duplicate image and a thundering herd', async () => {
    const [bw, naive] = await Promise.all([
      runTravelAgent({ chaos: 'light', seed: 1, mode: 'breakwater', offline: true }),
      runTravelAgent({ chaos: 'light', seed: 1, mode: 'naive', offline: true }),
    ]);
    expectNeverTwice(bw.summary);
    expect(bw.summary.tripBooked).toBe(true);
    expect(naive.summary.services.charges).toBe(2);
    expect(naive.summary.services.images).toBe(2);
    expect(naive.summary.services.hotelSearchesRefused).toBeGreaterThan(
      bw.summary.services.hotelSearchesRefused,
    );
    expect(naive.summary.models!.openai.failed).toBeGreaterThan(bw.summary.models!.openai.failed);
  }, 60_000);

  it('never does anything twice under heavy chaos, whatever the seed', async () => {
    const runs = await Promise.all(
      [1, 2, 3, 7].map((seed) => runTravelAgent({ chaos: 'heavy', seed, mode: 'breakwater', offline: true })),
    );
    for (const { summary } of runs) {
      expectNeverTwice(summary);
      expect(summary.failover).toBe(true);
      // Every run ends in words: the trip, or what could not be confirmed.
      expect(summary.answer).toBeDefined();
    }
  }, 60_000);

  it('is the same schedule for the same seed', async () => {
    const { faultSchedule } = await import('../../examples/travel-agent/schedule.js');
    expect(faultSchedule('heavy', 42)).toEqual(faultSchedule('heavy', 42));
    expect(faultSchedule('heavy', 42)).not.toEqual(faultSchedule('heavy', 43));
  });
});

describe('demo options', () => {
  it('reads --chaos, --seed, --json, --naive', () => {
    expect(parseOptions([])).toMatchObject({ chaos: 'light', seed: 1, json: false, naive: false });
    expect(parseOptions(['--chaos', 'heavy', '--seed', '7', '--json', '--naive'])).toMatchObject({
      chaos: 'heavy',
      seed: 7,
      json: true,
      naive: true,
    });
  });

  it.each([
    [['--chaos', 'wild'], /--chaos: expected one of none, light, heavy, got "wild"/],
    [['--seed', 'abc'], /--seed: expected a whole number/],
    [['--seed'], /--seed: a value is required/],
    [['--color'], /unknown option --color/],
    [['--json=yes'], /--json: does not take an argument/],
    [['heavy'], /unexpected argument "heavy"/],
  ])('refuses %j, naming the option', (args, message) => {
    expect(() => parseOptions(args)).toThrow(UsageError);
    expect(() => parseOptions(args)).toThrow(message);
  });
});
