/**
 * The chaos runner: runs a user's scenario (the agent against the fakes) over
 * many seeded fault schedules, checks the invariants the user names, and
 * shrinks a schedule that breaks one to a smaller one that still does, printed
 * with its seed so that `replay` runs exactly that case again.
 */
import type { Random } from '../policy/clock.js';
import {
  type ChaosSchedule,
  faultCount,
  normalize,
  type ScheduleShape,
  scheduleFromSeed,
  shrinkCandidates,
} from './chaos-schedule.js';
import type { Fault, FaultSchedule } from './faults.js';
import { createSeededRandom, forkSeed } from './prng.js';

/** Anything that takes a fault schedule: every fake of the kit. */
export interface Injectable {
  inject(schedule: FaultSchedule, route?: string): unknown;
}

/** What a scenario gets for one run. */
export interface ChaosFaults {
  /** The run's seed: with `schedule`, all it takes to replay it. */
  readonly seed: number;
  readonly schedule: ChaosSchedule;
  /** The queue of faults for `target` (empty when it has none). */
  for(target: string): readonly Fault[];
  /** Gives `fake` the queue of `target` (on its main route, or `route`). */
  inject(target: string, fake: Injectable, route?: string): void;
  /** A random source seeded from the run's seed, for the scenario's own choices (jitter, say). */
  readonly random: Random;
}

/** An invariant: true (or undefined) when it holds; false or a sentence saying what broke when not. */
export type Invariant<R> = (result: R, run: ChaosFaults) => boolean | string | undefined;

export interface ChaosOptions<R> extends ScheduleShape {
  /** How many seeded schedules to run. Default 100. */
  readonly runs?: number;
  /** The first seed; run i uses a seed derived from it. Default: drawn at random (and printed on failure). */
  readonly seed?: number;
  /** Runs the agent against the fakes under `faults` and returns what the invariants look at. */
  readonly scenario: (faults: ChaosFaults) => Promise<R>;
  /** Named invariants. `noUnhandledRejection` and `settles` are always checked. */
  readonly invariants: Readonly<Record<string, Invariant<R>>>;
  /** Runs only this case (a printed seed and its shrunk schedule), without shrinking. */
  readonly replay?: { readonly seed: number; readonly schedule?: ChaosSchedule };
  /** The most scenario runs spent shrinking. Default 200. */
  readonly maxShrinks?: number;
  /** A run that has not settled after this long (real time) breaks `settles`. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Where the failure report goes. Default `console.log`; pass `() => {}` to keep quiet. */
  readonly print?: (line: string) => void;
}

export interface ChaosFailure {
  readonly invariant: string;
  /** What the invariant said about the shrunk case. */
  readonly message: string;
  readonly seed: number;
  /** The shrunk schedule: replay with `{ seed, schedule }`. */
  readonly schedule: ChaosSchedule;
  /** The schedule as first drawn. */
  readonly original: ChaosSchedule;
  /** 1 for the first run. */
  readonly run: number;
  /** Scenario runs spent shrinking. */
  readonly shrinkRuns: number;
}

export interface ChaosReport {
  readonly ok: boolean;
  readonly runs: number;
  readonly seed: number;
  readonly failure?: ChaosFailure;
  /** The printed report: empty when every run kept every invariant. */
  readonly text: string;
}

type Outcome = { invariant: string; message: string } | undefined;

function faultsFor(seed: number, schedule: ChaosSchedule): ChaosFaults {
  return {
    seed,
    schedule,
    for: (target) => schedule[target] ?? [],
    inject: (target, fake, route) => {
      fake.inject([...(schedule[target] ?? [])], route);
    },
    random: createSeededRandom(forkSeed(seed, 1)),
  };
}

/**
 * Runs the scenario once and returns the first invariant it breaks. While it
 * runs, unhandled rejections are the runner's: they break
 * `noUnhandledRejection` instead of reaching the test runner.
 */
async function once<R>(options: ChaosOptions<R>, faults: ChaosFaults): Promise<Outcome> {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const others = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', onRejection);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const settled = await Promise.race([
      options.scenario(faults).then(
        (value) => ({ kind: 'value' as const, value }),
        (error: unknown) => ({ kind: 'error' as const, error }),
      ),
      new Promise<{ kind: 'timeout' }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
      }),
    ]);
    // Rejections nobody handled are reported after the microtasks drain: let them arrive.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (settled.kind === 'timeout')
      return { invariant: 'settles', message: `not settled after ${timeoutMs} ms` };
    if (settled.kind === 'error')
      return { invariant: 'settles', message: `the scenario threw: ${describe(settled.error)}` };
    if (rejections.length > 0)
      return {
        invariant: 'noUnhandledRejection',
        message: `${rejections.length} unhandled rejection(s), the first: ${describe(rejections[0])}`,
      };
    for (const [name, check] of Object.entries(options.invariants)) {
      let verdict: boolean | string | undefined;
      try {
        verdict = check(settled.value, faults);
      } catch (error) {
        verdict = `threw: ${describe(error)}`;
      }
      if (verdict === false) return { invariant: name, message: 'does not hold' };
      if (typeof verdict === 'string') return { invariant: name, message: verdict };
    }
    return undefined;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.removeListener('unhandledRejection', onRejection);
    for (const l of others) process.on('unhandledRejection', l);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function formatSchedule(schedule: ChaosSchedule): string {
  return JSON.stringify(schedule);
}

function report(failure: ChaosFailure, runs: number): string {
  return [
    `chaos: invariant "${failure.invariant}" broke on run ${failure.run} of ${runs}: ${failure.message}`,
    `  seed: ${failure.seed}`,
    `  schedule: ${formatSchedule(failure.schedule)}` +
      (faultCount(failure.original) > faultCount(failure.schedule)
        ? ` (shrunk from ${formatSchedule(failure.original)} in ${failure.shrinkRuns} runs)`
        : ''),
    `  replay: runChaos({ ...options, replay: { seed: ${failure.seed}, schedule: ${formatSchedule(failure.schedule)} } })`,
  ].join('\n');
}

/**
 * Runs `scenario` over `runs` seeded fault schedules and checks `invariants`
 * after each. On the first violation it shrinks the schedule (fewer targets,
 * fewer and simpler faults) while the same invariant still breaks, prints the
 * seed and the shrunk schedule, and returns them.
 */
export async function runChaos<R>(options: ChaosOptions<R>): Promise<ChaosReport> {
  const runs = options.replay ? 1 : (options.runs ?? 100);
  if (!Number.isInteger(runs) || runs < 1)
    throw new RangeError(`runs: expected a positive integer, got ${runs}`);
  if (options.targets.length === 0) throw new RangeError('targets: expected at least one target');
  const base = options.replay?.seed ?? options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const print = options.print ?? ((line: string) => console.log(line));

  for (let i = 0; i < runs; i++) {
    const seed = options.replay ? base : forkSeed(base, i);
    const original = normalize(options.replay?.schedule ?? scheduleFromSeed(seed, options));
    const first = await once(options, faultsFor(seed, original));
    if (first === undefined) continue;

    let schedule = original;
    let found = first;
    let shrinkRuns = 0;
    const budget = options.replay ? 0 : (options.maxShrinks ?? 200);
    // Greedy: take the first smaller schedule that breaks the same invariant, and start over from it.
    for (let improved = true; improved && shrinkRuns < budget; ) {
      improved = false;
      for (const candidate of shrinkCandidates(schedule, options)) {
        if (shrinkRuns >= budget) break;
        shrinkRuns++;
        const outcome = await once(options, faultsFor(seed, candidate));
        if (outcome?.invariant === found.invariant) {
          schedule = candidate;
          found = outcome;
          improved = true;
          break;
        }
      }
    }
    const failure: ChaosFailure = {
      invariant: found.invariant,
      message: found.message,
      seed,
      schedule,
      original,
      run: i + 1,
      shrinkRuns,
    };
    const text = report(failure, runs);
    print(text);
    return { ok: false, runs: i + 1, seed: base, failure, text };
  }
  return { ok: true, runs, seed: base, text: '' };
}

/** Invariants most scenarios need. */
export const invariants = {
  /** The number `count` reads is at most `limit` (1: the charge happened at most once). */
  atMost<R>(limit: number, count: (result: R) => number, what = 'the count'): Invariant<R> {
    return (result) => {
      const n = count(result);
      return n <= limit || `${what} is ${n}, more than ${limit}`;
    };
  },
  /** The number `count` reads is at most 1: a charge, a booking, an image made at most once. */
  atMostOnce<R>(count: (result: R) => number, what = 'the count'): Invariant<R> {
    return invariants.atMost(1, count, what);
  },
  /** The run ended by its deadline: `elapsedMs` (virtual time, say) is at most `deadlineMs`. */
  endsBy<R>(deadlineMs: number, elapsedMs: (result: R) => number): Invariant<R> {
    return (result) => {
      const ms = elapsedMs(result);
      return ms <= deadlineMs || `ended after ${ms} ms, past its deadline of ${deadlineMs} ms`;
    };
  },
};
