/**
 * Issue 17's done-when test, through the package's names only (`breakwater`,
 * `breakwater/testing`) and the real `openai` and `@anthropic-ai/sdk`
 * clients: a booking conversation fails over from OpenAI to Anthropic mid-way
 * and the card is charged once; the same conversation with a naive retry
 * wrapper charges more than once, and the chaos runner finds it, printing a
 * seed and a shrunk schedule that replay.
 */
import { type Fault, invariants, runChaos } from 'breakwater/testing';
import { describe, expect, it } from 'vitest';
import { type Booking, book } from './booking-agent.js';

/** The payment's answer is lost once; OpenAI is down from the second model turn on. */
const failover = {
  payment: ['reset_after_processing'] as Fault[],
  openai: (index: number): Fault | undefined => (index >= 1 ? 'overloaded_529' : undefined),
};

function chargesOnce(b: Booking): void {
  expect(b.charges).toBe(1);
}

describe('a mid-conversation failover that charges once', () => {
  it('breakwater: the lost answer is retried under the same key and the re-issued call replays', async () => {
    const b = await book('breakwater', failover);
    expect(b.providers).toEqual(['openai', 'anthropic', 'anthropic']);
    expect(b.answer).toBe('Paid: your trip is booked.');
    chargesOnce(b);
    // Two POSTs for the first call (the lost answer, then the replay) under one key; none for the re-issued call.
    expect(b.paymentRequests).toBe(2);
    expect(new Set(b.keys).size).toBe(1);
    expect(b.keys[0]).toBeTypeOf('string');
  });

  it('a naive retry wrapper fails the same test: it charges again on the retry and on the re-issued call', async () => {
    const b = await book('naive', failover);
    expect(b.providers).toEqual(['openai', 'anthropic', 'anthropic']);
    expect(() => chargesOnce(b)).toThrow();
    expect(b.charges).toBe(3);
    expect(b.keys.every((k) => k === undefined)).toBe(true);
  });
});

const pool: Fault[] = [
  'error_500',
  'overloaded_529',
  'rate_limited_no_hint',
  'reset_before_read',
  'reset_after_processing',
  'error_500_after_processing',
];
const shape = { targets: ['openai', 'anthropic', 'payment'], faults: pool, maxFaults: 3 };
const once = { charged: invariants.atMostOnce((b: Booking) => b.charges, 'charges') };

describe('the chaos runner over the booking conversation', () => {
  it('finds the naive double charge, prints its seed and shrunk schedule, and the pair replays', async () => {
    const printed: string[] = [];
    const report = await runChaos({
      ...shape,
      runs: 50,
      seed: 17,
      scenario: (faults) => book('naive', faults),
      invariants: once,
      print: (line) => printed.push(line),
    });
    expect(report.ok).toBe(false);
    const failure = report.failure!;
    expect(failure.invariant).toBe('charged');
    expect(printed.join('\n')).toContain(`seed: ${failure.seed}`);
    expect(printed.join('\n')).toContain(`schedule: ${JSON.stringify(failure.schedule)}`);

    // Shrunk to one fault: the naive wrapper needs just one lost answer or one failover to charge twice.
    const faults = Object.values(failure.schedule).flat();
    expect(faults.filter((f) => f !== 'none')).toHaveLength(1);

    // The printed pair replays: the same violation, with no shrinking.
    const replay = await runChaos({
      ...shape,
      scenario: (f) => book('naive', f),
      invariants: once,
      replay: { seed: failure.seed, schedule: failure.schedule },
      print: () => {},
    });
    expect(replay.failure?.invariant).toBe('charged');
    expect(replay.failure?.schedule).toEqual(failure.schedule);

    // And it is minimal: without its one fault, the naive agent charges once.
    const clean = await runChaos({
      ...shape,
      scenario: (f) => book('naive', f),
      invariants: once,
      replay: { seed: failure.seed, schedule: {} },
      print: () => {},
    });
    expect(clean.ok).toBe(true);
  });

  it('breakwater keeps the invariant over the same seeded schedules', async () => {
    const report = await runChaos({
      ...shape,
      runs: 50,
      seed: 17,
      scenario: (faults) => book('breakwater', faults),
      invariants: once,
    });
    expect(report.text).toBe('');
    expect(report.ok).toBe(true);
  });
});
